"""Demo conversations with photos (drawn here, so the repository carries no binaries)."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from messaging.models import Message
from messaging.services import message_post
from orders.models import Order


def drawing(label: str, colour: str) -> SimpleUploadedFile:
    """A photo of a cracked case, drawn (for demo messages and dispute evidence)."""
    image = Image.new("RGB", (800, 600), "#f2f2f2")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((150, 120, 650, 480), radius=40, fill=colour, outline="#333333", width=6)
    draw.line((220, 160, 560, 440), fill="#111111", width=8)  # the crack
    draw.text((30, 30), label, fill="#111111")
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return SimpleUploadedFile(f"{label}.jpg", buf.getvalue(), content_type="image/jpeg")


def _conversation(order: Order, lines: list[tuple[str, str, bool]]) -> None:
    if Message.objects.filter(thread__order=order).exists():
        return
    for who, body, with_photo in lines:
        author = order.buyer if who == "buyer" else order.store.owner
        uploads = [drawing(f"{order.number}-{who}", "#7aa7d9" if who == "buyer" else "#d9a27a")] if with_photo else []
        message_post(author=author, order=order, body=body, uploads=uploads)


def seed_messages() -> None:
    """Two conversations, each on the order its words are about (orders/demo.py JOURNEY_ORDERS)."""
    orders = {
        o.number: o
        for o in Order.objects.filter(number__in=["DD-4002", "DD-4001"]).select_related("buyer", "store__owner")
    }
    if "DD-4002" in orders:  # delivered, and its dispute says the case arrived cracked
        _conversation(
            orders["DD-4002"],
            [
                ("buyer", "Hello, the case arrived with a crack across the front. Photo attached.", True),
                ("seller", "Sorry about that! Could you send a photo of the box as well?", False),
                ("buyer", "Here is the box. It looks fine from outside.", True),
            ],
        )
    if "DD-4001" in orders:  # shipped, never delivered
        _conversation(
            orders["DD-4001"], [("buyer", "Hi Carol, my parcel has not moved in the tracking for 9 days.", False)]
        )
