"""Fair share between accounts: in which order accounts take the free slots.

Start-time fair queuing over claims (docs/scheduling.md). Every account has a *pass*: the
virtual time at which its next job would start. The account with ready jobs whose pass is
lowest takes the next slot and its pass grows by ``1 / weight``; the virtual time ``V`` is
the pass of the last account served. An account that had no work (or that is new) comes
back at ``V``, not at its old, lower pass: it takes the very next slot, then alternates with
the others, and can never catch up on turns it missed while idle. Accounts whose pass is at
or below ``V`` are forgotten (they would come back at ``V`` anyway), so the state stays as
small as the set of accounts with work.

The state is soft: it lives in one claimer's memory. Each scheduler process is fair on its
own claims, so several of them together are fair too; after a restart the shares settle
again within one round.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


class FairShare:
    """``FairShare(weights, max_running)``: ``order`` picks accounts for free slots,
    ``served`` records which of those picks were claimed.

    ``weights`` maps an account to its weight (default 1.0); ``max_running`` caps the jobs of
    one account running at once (0: no cap).
    """

    def __init__(self, weights: Mapping[int, float] | None = None, max_running: int = 0) -> None:
        self._weights = dict(weights or {})
        self._max_running = max_running
        self._pass: dict[int, float] = {}
        self._now = 0.0  # V: the pass of the last account served
        # Ties go to the account served longest ago (an unknown one first): turns count.
        self._turn: dict[int, int] = {}
        self._turns = 0

    def weight(self, account: int) -> float:
        return self._weights.get(account, 1.0)

    def room(self, account: int, running: int) -> int | None:
        """How many more jobs ``account`` may start with ``running`` jobs running (``None``:
        no cap)."""
        return None if self._max_running <= 0 else max(0, self._max_running - running)

    @property
    def capped(self) -> bool:
        return self._max_running > 0

    def order(self, accounts: Collection[int], running: Mapping[int, int], slots: int) -> list[int]:
        """Up to ``slots`` picks among ``accounts`` (those with ready jobs), one account per
        slot, in the order they should be served; ``running`` holds each account's running
        jobs (for the cap). The state is not changed: call ``served`` with what was claimed.
        """
        passes = {a: self._pass_of(a) for a in accounts}
        turns = {a: self._turn.get(a, -1) for a in accounts}
        room = {a: self.room(a, running.get(a, 0)) for a in accounts}
        picks: list[int] = []
        while len(picks) < slots:
            open_ = [a for a in passes if room[a] != 0]  # None: no cap
            if not open_:
                break
            account = min(open_, key=lambda a: (passes[a], turns[a], a))
            picks.append(account)
            passes[account] += 1.0 / self.weight(account)
            turns[account] = self._turns + len(picks)
            left = room[account]
            if left is not None:
                room[account] = left - 1
        return picks

    def served(self, picks: Sequence[int]) -> None:
        """Advance the shares by ``picks`` (accounts, in claim order), the slots of ``order``
        that became claims."""
        for account in picks:
            start = self._pass_of(account)
            self._now = start
            self._pass[account] = start + 1.0 / self.weight(account)
            self._turns += 1
            self._turn[account] = self._turns
        self._pass = {a: p for a, p in self._pass.items() if p > self._now}
        self._turn = {a: t for a, t in self._turn.items() if a in self._pass}

    def _pass_of(self, account: int) -> float:
        return max(self._pass.get(account, 0.0), self._now)
