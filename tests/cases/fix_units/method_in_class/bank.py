"""A toy bank: accounts with a history of movements."""

from __future__ import annotations

from dataclasses import dataclass, field


class InsufficientFunds(Exception):
    pass


@dataclass
class Movement:
    kind: str
    amount: int


@dataclass
class Account:
    owner: str
    balance: int = 0
    history: list[Movement] = field(default_factory=list)

    def deposit(self, amount: int) -> int:
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self.balance += amount
        self.history.append(Movement("deposit", amount))
        return self.balance

    def withdraw(self, amount: int) -> int:
        """Take AMOUNT out; refuse to go below zero."""
        if amount <= 0:
            raise ValueError("withdrawal must be positive")
        if amount > self.balance:
            raise InsufficientFunds(f"{self.owner} has {self.balance}, wants {amount}")
        self.balance -= amount
        self.history.append(Movement("withdraw", amount, self.balance))
        return self.balance

    def statement(self) -> list[str]:
        lines = [f"account of {self.owner}"]
        for m in self.history:
            sign = "+" if m.kind == "deposit" else "-"
            lines.append(f"{sign}{m.amount}")
        lines.append(f"balance {self.balance}")
        return lines


class Bank:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    def open(self, owner: str) -> Account:
        if owner in self.accounts:
            raise ValueError(f"{owner} already has an account")
        account = Account(owner)
        self.accounts[owner] = account
        return account

    def transfer(self, source: str, target: str, amount: int) -> None:
        self.accounts[source].withdraw(amount)
        self.accounts[target].deposit(amount)

    def total(self) -> int:
        return sum(a.balance for a in self.accounts.values())
