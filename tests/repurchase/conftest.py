"""The synthetic shops of the churn tests, shared."""

from tests.churn.conftest import shop, small_shop  # noqa: F401
