"""Starting a chat: which session, which engine, which files."""

from __future__ import annotations

from coder_cli.errors import UsageError


def open_session(rt, store, files: list[str], *, resume: bool, name: str | None, map_tokens: int, prewarm: bool):
    """The ChatSession to run: resumed (--continue, --session NAME) or new, with FILES added."""
    from coder_cli.actions.chat import ChatSession
    from coder_cli.actions.chat_sessions import SessionData, check_name, new_name

    if resume and name:
        raise UsageError("--continue and --session exclude each other")
    if map_tokens < 0:
        raise UsageError("--map-tokens must be 0 or more")
    data = None
    if resume:
        last = store.last()
        if last is None:
            raise UsageError(f"no earlier chat session for {store.root}", "start one with `coder chat`")
        data = store.load(last)
    elif name and store.path(check_name(name)).exists():
        data = store.load(name)
    fresh = SessionData(name or new_name())

    def load(model: str | None):
        if model is not None:
            rt.settings.values["model"] = model
        return rt.load_engine()

    s = rt.settings
    session = ChatSession(
        store.root,
        rt.home,
        load,
        reply_tokens=s.max_tokens,
        map_budget=map_tokens,
        temperature=s.temperature,
        seed=s.seed,
        data=fresh,
        prewarm=prewarm,
    )
    session.start()
    if data is not None:
        for note in session.restore(data):
            rt.diag.note(note)
    for f in files:
        added = session.add(f, rt.env.cwd)
        rt.diag.note(f"added {added.rel} ({added.tokens:,} tokens)")
    return session
