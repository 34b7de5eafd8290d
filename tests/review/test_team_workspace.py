"""The dispute team's workspace in admin: buttons on each row and on the review screen that go
through the workflow, result messages that name the dispute, forms only while they apply, no
outcome chosen in advance, the next dispute, and "View site" leading to the site."""

import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages

from disputes.models import Dispute
from disputes.services import dispute_act_by
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import team_member
from tests.review.test_review_queue import QUEUE, escalate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def said(response) -> list[str]:
    """The messages this response added (those still queued from before come first)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def review(client, dispute) -> str:
    response = client.get(f"{QUEUE}{dispute.pk}/review/")
    assert response.status_code == 200
    return response.content.decode()


def test_each_row_offers_the_move_that_fits_its_reader(client, world):
    frank = team_member("frank")
    unclaimed = escalate(world, "B-1")
    mine = escalate(world, "B-2")
    dispute_act_by(user=world.erin, dispute=mine, action="claim")
    franks = escalate(world, "B-3")
    dispute_act_by(user=frank, dispute=franks, action="claim")
    client.force_login(world.erin)
    page = client.get(QUEUE).content.decode()
    assert f'formaction="{QUEUE}{unclaimed.pk}/move/" name="step" value="claim"' in page
    assert f'formaction="{QUEUE}{mine.pk}/move/" name="step" value="release"' in page
    assert f"{QUEUE}{franks.pk}/move/" not in page  # frank's work: no button to take it from him
    # The reason and the assignee are columns; the state is short.
    assert "Item not received" in page and "frank" in page and ">you<" in page
    assert "Under review" in page and "Under review by the dispute team</td>" not in page


def test_a_row_button_claims_through_the_workflow_and_says_so(client, world):
    dispute = escalate(world, "C-1")
    client.force_login(world.erin)
    back = f"http://testserver{QUEUE}?who=unassigned"
    response = client.post(f"{QUEUE}{dispute.pk}/move/", {"step": "claim", "action": ""}, HTTP_REFERER=back)
    assert response.status_code == 302 and response["Location"] == back
    assert said(response) == [f"Claimed dispute #{dispute.pk} for you."]
    dispute.refresh_from_db()
    assert (dispute.state, dispute.assignee) == ("under_review", world.erin)
    assert list(dispute.events.values_list("action", flat=True))[-1] == "claim"

    released = client.post(f"{QUEUE}{dispute.pk}/move/", {"step": "release"})
    assert released["Location"] == QUEUE  # no referer: back to the queue
    assert said(released)[-1] == f"Released dispute #{dispute.pk} to the queue: anyone on the team may claim it."
    dispute.refresh_from_db()
    assert (dispute.state, dispute.assignee) == ("escalated", None)


def test_a_refused_move_says_which_dispute_and_why(client, world):
    dispute = dispute_in(world, "awaiting_seller", number="C-2")
    client.force_login(world.erin)
    response = client.post(f"{QUEUE}{dispute.pk}/move/", {"step": "claim"})
    (message,) = said(response)
    assert message.startswith(f"Dispute #{dispute.pk} was not changed: ")
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_seller"


def test_a_row_button_redirects_only_to_this_site(client, world):
    dispute = escalate(world, "C-3")
    client.force_login(world.erin)
    response = client.post(f"{QUEUE}{dispute.pk}/move/", {"step": "claim"}, HTTP_REFERER="https://evil.example/")
    assert response["Location"] == QUEUE


def test_the_move_view_is_for_the_team_and_for_posts_only(client, world):
    dispute = escalate(world, "C-4")
    client.force_login(world.erin)
    assert client.get(f"{QUEUE}{dispute.pk}/move/?step=claim").status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"
    client.force_login(world.alice)
    client.post(f"{QUEUE}{dispute.pk}/move/", {"step": "claim"})
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"


def test_bulk_actions_name_the_disputes_they_changed(client, world):
    first, second = escalate(world, "K-1"), escalate(world, "K-2")
    client.force_login(world.erin)
    response = client.post(QUEUE, {"action": "claim", "_selected_action": [first.pk, second.pk]})
    assert said(response) == [f"Claimed disputes #{first.pk}, #{second.pk} for you."]
    frank = team_member("frank")
    response = client.post(QUEUE, {"action": "assign", "_selected_action": [first.pk], "member": frank.pk})
    assert said(response)[-1] == f"Assigned dispute #{first.pk} to frank."


def test_the_ruling_form_chooses_no_outcome_in_advance(client, world):
    dispute = escalate(world, "O-1")
    client.force_login(world.erin)
    client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "claim"})
    page = review(client, dispute)
    assert '<option value="" selected>Choose an outcome…</option>' in page
    assert '<option value="full_refund" selected' not in page
    refused = client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "rule", "rule-note": "Decided."})
    assert "Choose an outcome." in refused.content.decode()
    assert Dispute.objects.get(pk=dispute.pk).state == "under_review"
    ruling = {"step": "rule", "rule-outcome": "partial_refund", "rule-refund_amount": "25.00", "rule-note": "Half."}
    ruled = client.post(f"{QUEUE}{dispute.pk}/review/", ruling)
    assert said(ruled) == [f"Ruled. Dispute #{dispute.pk}: partial refund, $25.00 to the buyer."]


def test_the_review_screen_offers_claim_then_the_ruling_form_then_release(client, world):
    dispute = escalate(world, "R-1")
    client.force_login(world.erin)
    page = review(client, dispute)
    assert 'value="claim"' in page and 'name="step" value="rule"' not in page
    assert "Claim this dispute to rule on it" in page
    response = client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "claim"})
    assert said(response) == [f"Claimed dispute #{dispute.pk} for you."]
    page = review(client, dispute)
    assert 'name="step" value="rule"' in page and 'value="release"' in page and 'value="claim"' not in page
    assert "Under review by you." in page


def test_no_ruling_form_on_someone_elses_dispute_but_it_can_be_assigned_to_you(client, world):
    frank = team_member("frank")
    dispute = escalate(world, "R-2")
    dispute_act_by(user=frank, dispute=dispute, action="claim")
    client.force_login(world.erin)
    page = review(client, dispute)
    assert 'name="step" value="rule"' not in page
    assert "frank is reviewing this dispute" in page and 'value="assign_to_me"' in page
    response = client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "assign_to_me"})
    assert said(response) == [f"Assigned dispute #{dispute.pk} to you."]
    dispute.refresh_from_db()
    assert dispute.assignee == world.erin
    assert list(dispute.events.values_list("action", flat=True))[-1] == "assign_to"


def test_a_resolved_dispute_offers_no_form_that_no_longer_applies(client, world):
    dispute = escalate(world, "X-1", total=Decimal("80.00"))
    client.force_login(world.erin)
    client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "claim"})
    client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "rule", "rule-outcome": "no_refund", "rule-note": "No."})
    assert Dispute.objects.get(pk=dispute.pk).state == "resolved"
    page = review(client, dispute)
    for gone in ('value="ask"', 'value="rule"', 'value="message"', 'value="claim"', 'value="release"'):
        assert gone not in page, gone
    assert "Ask for evidence" not in page and "Write to both parties" not in page
    assert "This dispute has been ruled on." in page and "Closed: Resolved." in page
    assert "Under review by you." not in page


def test_next_dispute_goes_through_unassigned_and_own_work_by_deadline(client, world, clock):
    frank = team_member("frank")
    first = escalate(world, "N-1")
    clock.shift(3600)
    franks = escalate(world, "N-2")
    dispute_act_by(user=frank, dispute=franks, action="claim")
    clock.shift(3600)
    third = escalate(world, "N-3")
    client.force_login(world.erin)
    nxt = f"{QUEUE}next/"
    assert client.get(nxt)["Location"] == f"{QUEUE}{first.pk}/review/"
    assert client.get(f"{nxt}?after={first.pk}")["Location"] == f"{QUEUE}{third.pk}/review/"  # frank's skipped
    assert client.get(f"{nxt}?after={third.pk}")["Location"] == f"{QUEUE}{first.pk}/review/"  # round again
    for dispute in (first, third):
        dispute_act_by(user=frank, dispute=dispute, action="claim")
    response = client.get(nxt)
    assert response["Location"] == QUEUE and "Nothing else waits for you" in said(response)[0]


def test_admin_view_site_leads_to_the_site_and_the_screens_load_the_shortcuts(client, world):
    dispute = escalate(world, "V-1")
    client.force_login(world.erin)
    for path in ("/admin/", QUEUE, f"{QUEUE}{dispute.pk}/review/"):
        page = client.get(path).content.decode()
        assert '<a href="/disputes/">View site</a>' in page, path
        assert "/static/js/admin-shortcuts.js" in page and "/static/css/admin.css" in page, path
        assert "<script>" not in page, path  # scripts come from files only (CSP)
    assert client.get("/disputes/").status_code == 200


def test_the_ruling_stands_out_and_every_time_on_the_review_screen_names_its_zone(client, world):
    dispute = escalate(world, "R-1")
    client.force_login(world.erin)
    client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "claim"})
    page = review(client, dispute)
    # Moving money is the primary action; asking and writing are not dressed like it.
    assert re.search(r'class="button default rule-button">Rule<', page)
    assert re.search(r'class="button">Ask<', page) and re.search(r'class="button">Send<', page)
    # The top box's times carry a zone, and so do the proposals' and the timeline's.
    zone = re.search(r"Opened</dt><dd>\d+ \w+ \d{4}, \d\d:\d\d (\S+)</dd>", page).group(1)
    for heading in ("every proposal", "Timeline"):
        section = page[page.index(heading) :]
        section = section[: section.index("</section>")]
        times = re.findall(r"\d+ \w{3} \d{4}, \d\d:\d\d(?: (\S+))?", section)
        assert times and all(found == zone for found in times), (heading, times)
