"""``usage`` and ``savings`` (``routerctl usage|savings``): reports read from the store."""

from routerd.app import App
from routerd.protocol import Data, Savings, Usage
from routerd.store import usage as reports


async def handle_usage(app: App, request: Usage) -> Data:
    return Data(kind="usage", data=await reports.usage_report(app.store, request.since, request.group_by))


async def handle_savings(app: App, request: Savings) -> Data:
    return Data(kind="savings", data=await reports.savings_report(app.store, request.since))
