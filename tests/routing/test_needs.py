"""What a conversation needs of a model, read from its messages: its size counts what its tools
returned, not only the person's words (a scenario's token count replaces it when detection is on)."""

from routerd.routing.types import Conversation


def test_tool_output_counts_towards_the_context_a_conversation_needs():
    """An agent step carrying a 600,000-character file reads as ~150,000 tokens: more than a
    128K-token model holds (it read as the few words of the ask)."""
    messages = [{"role": "user", "content": "summarise data.csv"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read_file", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x," * 300_000}]}]
    needs = Conversation(messages, [{"name": "read_file"}]).needs()
    assert needs.tools and needs.estimated_tokens >= 150_000
    assert Conversation([{"role": "user", "content": "hi " * 40}]).needs().estimated_tokens == 30
