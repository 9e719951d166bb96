"""The exception tree, kept shallow on purpose.

- :class:`ConfigError` is a user mistake: it names where (file, key path, line) and the fix.
- :class:`ProviderError` and its subclasses are runtime failures of a model backend, with typed
  fields the fallback logic reads (``retryable``) and that a gateway maps to HTTP statuses.
- :class:`StepBlocked` and :class:`AllCandidatesFailed` end a step that cannot run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

if TYPE_CHECKING:
    from hybridcrew.routing.decision import Decision


class HybridCrewError(Exception):
    """Base class of every error hybridcrew raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in a configuration source."""

    path: str
    problem: str
    fix: str
    line: int | None = None

    def render(self, source: str) -> str:
        """One line: ``source:line: key.path: problem. Fix: fix``."""
        where = f"{source}:{self.line}" if self.line else source
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.problem}. Fix: {self.fix}"


class ConfigError(HybridCrewError):
    """A configuration (YAML, environment, CLI option) mistake the user must fix."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = [p.render(source) for p in problems]
        head = "invalid configuration" if len(lines) == 1 else f"{len(lines)} configuration errors"
        super().__init__(f"{head}\n" + "\n".join(f"  {line}" for line in lines))

    @classmethod
    def single(
        cls, source: str, path: str, problem: str, fix: str, line: int | None = None
    ) -> Self:
        """Build an error holding one problem."""
        return cls(source, [ConfigProblem(path, problem, fix, line)])


class ProviderError(HybridCrewError):
    """A model backend failed a call. Subclasses are the small typed set fallbacks act on."""

    kind: ClassVar[str] = "error"
    retryable: ClassVar[bool] = True

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        detail: str,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.detail = detail
        self.status = status
        self.retry_after_s = retry_after_s
        code = f" (HTTP {status})" if status else ""
        super().__init__(f"{provider} model '{model}': {self.kind}{code}: {detail}")


class RateLimited(ProviderError):
    """HTTP 429: too many requests or tokens for now."""

    kind = "rate_limited"


class Overloaded(ProviderError):
    """HTTP 529/503: the backend is temporarily overloaded."""

    kind = "overloaded"


class Unavailable(ProviderError):
    """Connection refused, DNS failure, HTTP 5xx, or a local backend not installed."""

    kind = "unavailable"


class ProviderTimeout(ProviderError):
    """The call did not finish within its timeout."""

    kind = "timeout"


class AuthFailed(ProviderError):
    """HTTP 401/403: missing or rejected credentials. Another model may still serve the step."""

    kind = "auth"


class Unsupported(ProviderError):
    """The model cannot do what the call asks (tools, JSON mode); another model may."""

    kind = "unsupported"


class BadRequest(ProviderError):
    """HTTP 400/404/413/422: the request itself is wrong; another model would not help."""

    kind = "bad_request"
    retryable = False


class StepBlocked(HybridCrewError):
    """No candidate model may run this step (privacy, budget, health, capacity)."""

    def __init__(self, decision: Decision, call_id: str | None = None) -> None:
        self.decision = decision
        self.call_id = call_id
        """The id of the recorded decision, for a call through a compatible endpoint."""
        why = "; ".join(f"{r.model}: {r.why}" for r in decision.rejected) or "no candidates"
        super().__init__(f"step for agent '{decision.agent}' is blocked: {why}")


class AllCandidatesFailed(HybridCrewError):
    """Every model the decision allowed failed at call time."""

    def __init__(self, agent: str, errors: list[ProviderError]) -> None:
        self.agent = agent
        self.errors = errors
        tried = "; ".join(str(e) for e in errors)
        super().__init__(f"every allowed model failed for agent '{agent}': {tried}")


ERROR_KINDS: dict[str, type[ProviderError]] = {
    cls.kind: cls
    for cls in (RateLimited, Overloaded, Unavailable, ProviderTimeout, AuthFailed, Unsupported,
                BadRequest)
}
"""The typed provider errors by their ``kind`` name (used by the scripted model and metrics)."""
