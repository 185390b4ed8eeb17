"""Tutors' reactions: a renamed account renames its tutor profile's search entry; a withdrawn document's file
is deleted once the withdrawal is committed."""
from app.common import storage
from app.common.transactions import unit_of_work
from app.tutors import services


def rename_search_entry(user_id, full_name):
    with unit_of_work():
        services.rename_search_entry(user_id, full_name)


def delete_withdrawn_document_file(document_id, tutor_id, storage_key):
    storage.delete(storage_key)


def register(bus):
    bus.subscribe("user.renamed", rename_search_entry)
    bus.subscribe("tutor_document.withdrawn", delete_withdrawn_document_file)
