"""Demo conversation for `flask seed-demo`: a student and a tutor already talking (idempotent via client_id)."""
from app.common.transactions import unit_of_work
from app.messaging import services

DEMO_CHAT = [
    ("sam.student@tutorhub.test", "Hi María! Could we go over limits before my AP test?"),
    ("maria.garcia@tutorhub.test",
     "Of course, Sam. Here are my notes: https://drive.google.com/file/d/1DemoCalculusNotes01/view"),
    ("sam.student@tutorhub.test", "Thanks! Thursday 5pm works for me."),
]


def seed_messaging(users):
    student, tutor = users.get("sam.student@tutorhub.test"), users.get("maria.garcia@tutorhub.test")
    if student is None or tutor is None:
        return
    with unit_of_work():
        conversation, _ = services.get_or_create_pair(student.id, tutor.id)
        for index, (email, body) in enumerate(DEMO_CHAT):
            # the same client_id on a second run returns the stored message: nothing is duplicated
            services.send_message(users[email].id, conversation.id, body, client_id=f"demo-seed-{index}")


def seed_market_chats(chats, users_by_email):
    """One conversation per planned (student, tutor) pair with a short exchange (client_ids keep it single)."""
    for index, chat in enumerate(chats):
        student, tutor = users_by_email[chat["student"]], users_by_email[chat["tutor"]]
        conversation, _ = services.get_or_create_pair(student.id, tutor.id)
        if conversation.last_message_id is not None:
            continue  # already talking (a previous run, or the pair chatted since): nothing to add
        for position, (who, body) in enumerate(chat["messages"]):
            sender = student if who == "student" else tutor
            services.send_message(sender.id, conversation.id, body, client_id=f"demo-market-{index}-{position}")
