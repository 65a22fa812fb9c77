"""The pages' foundation in a real browser: Studio sign-in keeps the key on the server, a copilot's
pre-signed URL opens its pages and a changed one is refused, and pages carry their security policy."""

from __future__ import annotations

from browser import copilot_urls, screenshot


def test_studio_sign_in_refuses_a_wrong_key_and_keeps_the_right_one_on_the_server(page, site):
    page.goto("/studio/overview")
    assert "/studio/sign-in" in page.url
    page.get_by_label("Admin key").fill("ask_" + "0" * 32)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("This is not an admin key")
    screenshot(page, "studio-sign-in")
    page.get_by_label("Admin key").fill(site.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/studio/overview**")
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["cerebro_studio"]
    assert site.admin_key not in cookies[0]["value"] and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    assert site.admin_key not in page.content()


def test_a_copilot_url_opens_its_pages_and_a_changed_one_is_refused(page, site):
    import httpx

    answer = httpx.post(
        f"{site.base_url}/v1/copilot",
        headers={"X-API-KEY": site.admin_key},
        json={
            "type": "talent",
            "name": "Careers",
            "source_keys": [site.source_key],
            "board_keys": [site.board_key],
            "design": {"title": "Acme careers", "welcome": "Find your next role at Acme."},
            "allowed_origins": ["https://careers.acme.example"],
        },
    )
    assert answer.status_code == 201, answer.text
    url = answer.json()["data"]["presigned_url"]["url"]
    response = page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Acme careers"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://careers.acme.example" in policy and "default-src 'self'" in policy
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    response = page.goto(tampered)
    assert response.status == 401
    assert "not valid" in page.get_by_role("alert").inner_text()


def test_pages_speak_french_and_errors_are_pages(page, site):
    page.goto("/studio/sign-in?lang=fr")
    assert page.get_by_role("heading", level=1).inner_text() == "Se connecter au Studio"
    assert page.locator("html").get_attribute("lang") == "fr"
    response = page.goto("/studio/no-such-page")
    assert response.status == 404 and page.get_by_role("heading", level=1).inner_text() == "Page not found"
    response = page.goto("/copilot/cop_000/talent?lang=fr")
    assert response.status == 401
    assert "demandez-en un nouveau" in page.get_by_role("alert").inner_text()


def test_an_overloaded_encoder_is_a_busy_page_that_says_when_to_retry(page, site):
    """The candidate's job page re-scores the pair (upskilling) with the encoder; when the encoder refuses
    work the page says the server is busy and when to come back (503, Retry-After), not that it broke."""
    batcher = site.workspace.records.encoder
    url = copilot_urls(site)["talent job"]
    limit = batcher.max_queue_seconds
    batcher.max_queue_seconds = -1.0  # every request now waits longer than the limit
    try:
        response = page.goto(f"{url}&lang=fr")
    finally:
        batcher.max_queue_seconds = limit
    assert response.status == 503 and int(response.headers["retry-after"]) >= 1
    assert page.get_by_role("heading", level=1).inner_text() == "Veuillez réessayer sous peu"
    assert "Le serveur est très sollicité" in page.get_by_role("alert").inner_text()
    assert page.goto(url).status == 200  # the encoder takes work again: so does the page
