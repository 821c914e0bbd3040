"""General rules found on the held-out sets: each test uses wording that appears in no labelled set."""

from routerd.classify.heuristic import classify
from routerd.classify.text import paste_is_code, split_ask


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def test_design_verb_makes_analysis_even_with_code_nouns():
    """'design the schema and API for ...' is a design, not code, though it names code things."""
    c = classify([user("design the database schema and REST API for a multi-tenant booking service where "
                       "two customers must never get the same slot, with idempotent retries from mobile clients")])
    assert c.task_type == "analyze"


def test_explain_a_concept_is_a_query():
    """'explain what X is' with nothing pasted asks for a definition."""
    c = classify([user("explain what a hash join is")])
    assert (c.tier, c.task_type) == ("simple", "query")


def test_verdict_on_pasted_hard_code_is_a_review():
    """'is this correct?' on pasted concurrent code is analysis in the top tier, not a closed question."""
    code = ("```cpp\nstd::atomic<int> ready{0}; int data;\nvoid producer() { data = 42; "
            "ready.store(1, std::memory_order_relaxed); }\nvoid consumer() { while (!ready.load("
            "std::memory_order_relaxed)) {} assert(data == 42); }\n```")
    c = classify([user("is this correct?\n\n" + code)])
    assert (c.tier, c.task_type) == ("complex", "analyze")


def test_security_audit_of_pasted_code_is_complex():
    """Auditing pasted auth code for vulnerabilities is security analysis."""
    code = ("```python\n@app.post('/reset')\ndef reset():\n    user = User.by_email(request.form['email'])\n"
            "    token = str(user.id) + str(int(time.time()))\n    send_mail(user.email, '/reset?t=' + token)\n"
            "    return 'ok'\n```")
    c = classify([user("audit this password reset endpoint for vulnerabilities\n\n" + code)])
    assert (c.tier, c.task_type) == ("complex", "analyze")


def test_code_fence_language_tag_marks_code():
    """A fence tagged with a programming language holds code even when its head shows few marks."""
    split = split_ask("look at this\n\n```go\nx := compute(a, b)\ny := x * 2\n```")
    assert paste_is_code(split)


def test_diagnosis_of_a_non_log_paste_is_work():
    """'why is this slow' on a query plan has no error line naming the answer: middle tier."""
    plan = ("```\nSeq Scan on events  (cost=0.00..981234.00 rows=120 width=64) (actual time=0.02..4120.77 "
            "rows=118 loops=1)\n  Filter: (account_id = 991)\n  Rows Removed by Filter: 18200455\n"
            "Execution Time: 4120.93 ms\n```")
    c = classify([user("why is this slow and what would fix it?\n\n" + plan)])
    assert (c.tier, c.task_type) == ("moderate", "analyze")


def test_code_request_listing_many_requirements_is_moderate():
    """Four or more stated requirements make a specification, not a one-liner."""
    c = classify([user("write a systemd unit for our worker with restart on failure, a memory limit, "
                       "an env file, and logs to journald")])
    assert (c.tier, c.task_type) == ("moderate", "code")


def test_regulation_across_jurisdictions_is_a_hard_domain():
    """Law across jurisdictions is a hard domain of its own: research about it is never a lookup."""
    c = classify([user("research the current rules on storing biometric data (face templates) for a workforce "
                       "app used in Illinois, Texas, the EU and Brazil: consent, retention limits, "
                       "cross-border transfer and what our DPA with customers must say")])
    assert c.tier != "simple" and c.task_type == "research"
    assert "domain:legal" in c.signals


def test_go_ahead_with_an_instruction_accepts_the_offer():
    """'go ahead, but ...' is still a go-ahead: the work is the plan that was offered."""
    c = classify([
        user("our queue consumers need to survive broker failover"),
        assistant("Plan:\n1. Make every handler idempotent with a dedup table keyed by message id.\n"
                  "2. Switch all 9 consumer services to manual acks after the DB commit.\n"
                  "3. Add a transactional outbox so publishes survive a crash between commit and send.\n"
                  "Shall I start?"),
        user("go ahead, but do the billing consumers first"),
    ])
    assert c.tier == "complex"
    assert "continuation:affirm" in c.signals


def test_follow_up_opening_is_never_small_talk():
    """'now only for ...' continues the thread: the previous ask's kind, not chat."""
    c = classify([
        user("sql to list orders with their customer's name"),
        assistant("```sql\nSELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id;\n```"),
        user("now only the ones from last week"),
    ])
    assert (c.tier, c.task_type) == ("simple", "code")


def test_hypothetical_follow_up_takes_the_answer_s_weight():
    """'what if ...' about a substantive answer is analysis at least in the middle tier."""
    c = classify([
        user("should our mobile app cache the product catalogue locally?"),
        assistant("Yes: cache it in SQLite with an ETag per category, refresh on app start and on pull-to-refresh, "
                  "and fall back to the cached copy when offline. Prices should still be confirmed at checkout, "
                  "because a cached price can be hours old, and the cart should show a notice when it changed."),
        user("what if the catalogue is 200 MB?"),
    ])
    assert (c.tier, c.task_type) == ("moderate", "analyze")


def test_edit_of_a_written_piece_stays_generate():
    """Adjusting a post the assistant wrote is writing, even with an 'add' verb."""
    c = classify([
        user("write a short post for our changelog page: dark mode is here"),
        assistant("Dark mode is here! Switch it on under Settings > Appearance, or let it follow your system."),
        user("now add a line thanking the beta testers"),
    ])
    assert (c.tier, c.task_type) == ("simple", "generate")


def test_choice_question_is_a_comparison():
    """'should X be A or B?' weighs a choice: analysis in the middle tier, not a lookup."""
    c = classify([user("should audit events go in the main Postgres database or in a separate append-only store? "
                       "about 2M events a day, kept for 7 years, queried rarely")])
    assert (c.tier, c.task_type) == ("moderate", "analyze")


def test_document_from_pasted_notes_is_moderate():
    """Turning pasted notes into a new document digests all of them."""
    notes = "\n".join(f"- item {i}: the {w} service moves to the new cluster on day {i}"
                      for i, w in enumerate(("auth", "billing", "search", "media", "mail", "reports"), 1))
    c = classify([user("turn these notes into a short update for the support team\n\n" + notes)])
    assert (c.tier, c.task_type) == ("moderate", "generate")


def test_offer_to_implement_accepted_is_code():
    """Accepting 'want me to start implementing it?' is code, whatever the offer describes."""
    c = classify([
        user("we should stop polling the payments API"),
        assistant("We could subscribe to their webhooks instead, verify signatures, store events in an inbox "
                  "table and process them idempotently. Want me to start implementing it?"),
        user("yes please"),
    ])
    assert c.task_type == "code"


def test_request_with_thanks_in_it_is_not_chat():
    """'write a thank-you note' asks for writing; the word 'thank' does not make it small talk."""
    c = classify([user("write a short thank-you note to the design team for the new icons")])
    assert (c.tier, c.task_type) == ("simple", "generate")


def test_short_fragment_changes_the_previous_ask():
    """'in rust' after a code answer asks for the same code in another language."""
    c = classify([
        user("python: reverse the words in a sentence"),
        assistant("`' '.join(s.split()[::-1])`"),
        user("in rust"),
    ])
    assert (c.tier, c.task_type) == ("simple", "code")


def test_inline_code_separators_are_not_requirements():
    """Commas and pluses inside backticks are code, not a list of requirements."""
    c = classify([user("just change this to use f-strings: `log('user ' + uid + ', ' + action + ', at ' + ts)`")])
    assert (c.tier, c.task_type) == ("simple", "code")


def test_cjk_text_keeps_its_ascii_words():
    """Japanese with no spaces still shows its code nouns and verbs: a code request, not small talk."""
    c = classify([user("Pythonで、CSVファイルを読み込んで列ごとの平均を計算する関数を書いて。pytestのテストも付けて。")])
    assert c.task_type == "code" and c.tier != "simple"


def test_fragment_after_a_code_answer_changes_the_code():
    """'oldest first' after an answer with code in it asks to change that code; it is not small talk."""
    c = classify([
        user("sql: list invoices by due date"),
        assistant("```sql\nSELECT id, due_date FROM invoices ORDER BY due_date DESC;\n```"),
        user("oldest first"),
    ])
    assert (c.tier, c.task_type) == ("simple", "code")
