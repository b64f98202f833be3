"""Sign up in real Chromium and land on the empty dashboard (desktop and 360 px phone)."""
from __future__ import annotations

from accounts.models import Account, Membership, Role
from tests.browser.conftest import shot

# Elements sticking out past the right edge of the viewport (for a readable failure message).
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 361)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)"""


def sign_up(page, company: str, email: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Company name").fill(company)
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/app/**")


def test_a_visitor_signs_up_and_lands_on_the_empty_dashboard(page, live_server):
    page.goto("/accounts/signup/")
    page.get_by_role("button", name="Create account").click()  # empty form: errors, still here
    assert page.get_by_role("alert").first.is_visible()
    shot(page, "signup-errors")
    sign_up(page, "Initech", "peter@initech.example")
    assert page.get_by_role("heading", name="Initech", level=1).is_visible()
    assert page.get_by_text("Welcome to Verbatim! Your account is ready.").is_visible()
    assert page.get_by_role("heading", name="No feedback yet").is_visible()
    assert page.get_by_test_id("response-count").inner_text() == "0"
    nav = page.get_by_role("navigation", name="Main")
    for area in ("Surveys", "People", "Responses", "Reports", "Integrations", "Settings"):
        assert nav.get_by_role("link", name=area).is_visible()
    shot(page, "signup-dashboard")
    account = Account.objects.get(name="Initech")
    assert page.url.endswith(f"/app/{account.slug}/")
    assert Membership.objects.get(account=account).role == Role.OWNER


def test_sign_up_works_on_a_360px_phone(phone_page, live_server):
    sign_up(phone_page, "Hooli", "gavin@hooli.example")
    assert phone_page.get_by_role("heading", name="No feedback yet").is_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a phone ({width}px)"
    shot(phone_page, "signup-dashboard-360")


def test_the_settings_pages_fit_a_360px_phone(phone_page, live_server):
    sign_up(phone_page, "Pied Piper", "richard@piedpiper.example")
    slug = Account.objects.get(name="Pied Piper").slug
    for path, name in ((f"/app/{slug}/settings/", "settings"), (f"/app/{slug}/settings/members/", "members"),
                       (f"/app/{slug}/settings/api-keys/", "api-keys")):
        phone_page.goto(path)
        shot(phone_page, f"settings-{name}-360")
        wide = phone_page.evaluate(WIDEST)
        assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360, (path, wide)
    phone_page.get_by_label("Name").fill("Helpdesk")
    phone_page.get_by_role("button", name="Create key").click()
    key = phone_page.get_by_test_id("new-api-key").input_value()
    assert key.startswith("vb_")
    shot(phone_page, "settings-api-key-created-360")
