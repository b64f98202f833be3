from tests.browser.conftest import shot


def test_the_log_in_page_renders_in_chromium(page, live_server):
    page.goto("/accounts/login/")
    assert page.get_by_role("heading", name="Log in to Verbatim").is_visible()
    shot(page, "login")
