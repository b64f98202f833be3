"""factory_boy factories, one module per app. Every tenant model needs one: the isolation walker
(tests/test_isolation.py) creates one of every tenant model through ``TENANT_FACTORIES``."""
from tests.factories.accounts import (
    AccountFactory,
    ApiKeyFactory,
    EventFactory,
    MembershipFactory,
    UserFactory,
)
from tests.factories.responses import AnswerFactory, DailyRollupFactory, ResponseFactory
from tests.factories.surveys import (
    InvitationFactory,
    PersonFactory,
    QuestionFactory,
    SuppressionFactory,
    SurveyFactory,
)

# model label -> factory taking account=...; extended by each app's module (see bottom of each).
TENANT_FACTORIES = {
    "accounts.Membership": MembershipFactory,
    "accounts.ApiKey": ApiKeyFactory,
    "accounts.Event": EventFactory,
    "surveys.Survey": SurveyFactory,
    "surveys.Question": QuestionFactory,
    "surveys.Person": PersonFactory,
    "surveys.Suppression": SuppressionFactory,
    "surveys.Invitation": InvitationFactory,
    "responses.Response": ResponseFactory,
    "responses.Answer": AnswerFactory,
    "responses.DailyRollup": DailyRollupFactory,
}

__all__ = [
    "TENANT_FACTORIES",
    "AccountFactory",
    "AnswerFactory",
    "ApiKeyFactory",
    "DailyRollupFactory",
    "EventFactory",
    "InvitationFactory",
    "MembershipFactory",
    "PersonFactory",
    "QuestionFactory",
    "ResponseFactory",
    "SuppressionFactory",
    "SurveyFactory",
    "UserFactory",
]
