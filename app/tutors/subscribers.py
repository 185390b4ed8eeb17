"""Tutors' reactions: a renamed account renames its tutor profile's search entry."""
from app.common.transactions import unit_of_work
from app.tutors import services


def rename_search_entry(user_id, full_name):
    with unit_of_work():
        services.rename_search_entry(user_id, full_name)


def register(bus):
    bus.subscribe("user.renamed", rename_search_entry)
