"""Extension points the scheduling domain registers into (matching works without them).

HISTORY_PROVIDERS: callables (student_id, tutor_ids) -> {tutor_id: completed session count}.
HISTORY_TUTOR_PROVIDERS: callables (student_id, limit) -> {tutor_id: completed session count} for the tutors the
student has completed sessions with, most sessions first, at most ``limit`` (matching adds them to its candidates
whatever their prior, and takes their counts from here). A domain registering one registers its HISTORY_PROVIDERS
counterpart over the same sessions: matching asks HISTORY_PROVIDERS only about the candidates a tutor provider may
have left out, i.e. when one returned ``limit`` tutors, or when no tutor provider is registered.
AVAILABILITY_PROVIDERS: callables (tutor_ids, windows) -> {tutor_id: fraction in [0, 1] of the student's
preferred windows the tutor is free for}; windows is a list of (start, end) aware datetimes.
"""
HISTORY_PROVIDERS = []
HISTORY_TUTOR_PROVIDERS = []
AVAILABILITY_PROVIDERS = []


def completed_session_counts(student_id, tutor_ids):
    """Completed sessions between the student and each tutor; {} until a provider is registered."""
    counts = {}
    for provider in HISTORY_PROVIDERS:
        for tutor_id, count in provider(student_id, list(tutor_ids)).items():
            counts[tutor_id] = counts.get(tutor_id, 0) + count
    return counts


def history_tutors(student_id, limit):
    """({tutor_id: completed sessions} of the student's tutors, most first, at most ``limit`` per provider,
    complete): complete is True when every provider answered below its limit (so a tutor missing has none)."""
    counts = {}
    complete = bool(HISTORY_TUTOR_PROVIDERS)
    for provider in HISTORY_TUTOR_PROVIDERS:
        top = provider(student_id, limit)
        complete = complete and len(top) < limit
        for tutor_id, count in top.items():
            counts[tutor_id] = counts.get(tutor_id, 0) + count
    return counts, complete


def availability_fractions(tutor_ids, windows):
    """{tutor_id: fraction} from the first registered provider; {} (neutral) when none is or no windows."""
    if not windows or not AVAILABILITY_PROVIDERS:
        return {}
    return AVAILABILITY_PROVIDERS[0](list(tutor_ids), windows)
