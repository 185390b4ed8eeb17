"""The demo marketplace `flask seed-demo` builds around the named demo accounts: about 60 tutors over the whole
subject catalog in several cities and currencies, students with a history of completed sessions and reviews
spread over months, documents (some tutors verified), availability and conversations.

``market_plan()`` decides everything from a fixed seed, so every run plans the same marketplace; each domain's
seed applies its part and skips what is already there (idempotent).
"""
import random
import unicodedata

MARKET_SEED = 2026
TUTOR_COUNT = 60
STUDENT_COUNT = 30
HISTORY_DAYS = 240

# city, country, IANA zone, currency, (lat, lon), rate range in minor units of the currency
CITIES = [
    ("Madrid", "ES", "Europe/Madrid", "EUR", (40.4168, -3.7038), (2500, 6000)),
    ("Paris", "FR", "Europe/Paris", "EUR", (48.8566, 2.3522), (3000, 7000)),
    ("Berlin", "DE", "Europe/Berlin", "EUR", (52.52, 13.405), (2500, 6500)),
    ("London", "GB", "Europe/London", "GBP", (51.5074, -0.1278), (3000, 8000)),
    ("Manchester", "GB", "Europe/London", "GBP", (53.4808, -2.2426), (2500, 5500)),
    ("New York", "US", "America/New_York", "USD", (40.7128, -74.006), (4000, 9500)),
    ("Chicago", "US", "America/Chicago", "USD", (41.8781, -87.6298), (3500, 8000)),
    ("San Francisco", "US", "America/Los_Angeles", "USD", (37.7749, -122.4194), (5000, 11000)),
    ("Toronto", "CA", "America/Toronto", "CAD", (43.6532, -79.3832), (3500, 8000)),
    ("Sydney", "AU", "Australia/Sydney", "AUD", (-33.8688, 151.2093), (4000, 9000)),
    ("Tokyo", "JP", "Asia/Tokyo", "JPY", (35.6762, 139.6503), (3000, 8000)),
    ("Zurich", "CH", "Europe/Zurich", "CHF", (47.3769, 8.5417), (6000, 12000)),
    ("Mumbai", "IN", "Asia/Kolkata", "INR", (19.076, 72.8777), (60000, 200000)),
    ("Singapore", "SG", "Asia/Singapore", "SGD", (1.3521, 103.8198), (4000, 9000)),
]
FIRST_NAMES = [
    "Aisha", "Ben", "Carmen", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lucas",
    "Mei", "Nikolai", "Olivia", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Valentina", "Wen", "Ximena",
    "Yusuf", "Zoe", "Amir", "Bianca", "Chloé", "Dev", "Emma", "Felix", "Giulia", "Hannah", "Ivan", "Julia",
]
LAST_NAMES = [
    "Adeyemi", "Becker", "Chen", "Dubois", "Eriksen", "Fernández", "García", "Hoffmann", "Ito", "Jensen", "Kumar",
    "López", "Moreau", "Nakamura", "Okafor", "Petrova", "Quintero", "Rossi", "Schmidt", "Tanaka", "Usman",
    "Varga", "Walsh", "Xu", "Yilmaz", "Zhang",
]
LEVELS = ("primary", "secondary", "university", "professional")
STYLES = ("visual", "auditory", "reading", "kinesthetic")
LANGUAGES = {"ES": "es", "FR": "fr", "DE": "de", "JP": "ja", "IN": "hi", "CH": "de"}
COMMENTS = {
    5: ["Brilliant session, everything finally made sense.", "Patient, clear and very well prepared.",
        "The best tutor I have had; worked examples were spot on."],
    4: ["Very helpful, a couple of topics went a bit fast.", "Good structure and useful homework.",
        "Knows the subject well; friendly and on time."],
    3: ["Fine overall, but the session felt rushed.", "Helpful explanations, started late."],
    2: ["Not much preparation; we spent the hour on basics I knew."],
}
CHAT = [
    ("student", "Hi! Could we focus on {subject} past papers next time?"),
    ("tutor", "Absolutely. Bring the questions you found hardest and we will start there."),
    ("student", "Great, thank you. See you then!"),
]


def _ascii(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _people(rng, count, used):
    people = []
    while len(people) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{_ascii(first)}.{_ascii(last)}@tutorhub.test"
        if email in used:
            continue
        used.add(email)
        people.append((f"{first} {last}", email))
    return people


def _tutor(rng, index, name, email, subjects):
    city, country, zone, currency, (lat, lon), (low, high) = CITIES[index % len(CITIES)]
    primary = subjects[index % len(subjects)]
    others = rng.sample([s for s in subjects if s != primary["slug"]], rng.randint(1, 3))
    taught = [primary, *others]
    step = 100 if currency != "JPY" else 500
    rate = rng.randrange(low, high, step)
    names = ", ".join(s["name"] for s in taught[:2])
    languages = sorted({"en", LANGUAGES.get(country, "en")})
    return {
        "email": email, "full_name": name, "timezone": zone, "quality": rng.uniform(3.4, 5.0),
        "verified": index % 5 == 0, "documents": index % 5 != 4,
        "user": {"bio": f"{names} tutor based in {city}.", "learning_styles": rng.sample(STYLES, 2)},
        "profile": {
            "headline": f"{names} with a patient {city} tutor",
            "bio": f"I teach {names} to learners of every level, online and in {city}. Lessons are built "
                   "around your goals, with notes after every session.",
            "rate_cents": rate, "currency": currency, "mode": rng.choice(("online", "both", "both", "in_person")),
            "city": city, "country": country,
            "latitude": round(lat + rng.uniform(-0.05, 0.05), 5), "longitude": round(lon + rng.uniform(-0.05, 0.05), 5),
            "travel_radius_km": rng.choice((5, 10, 20)), "years_experience": rng.randint(1, 20),
            "offers_trial": rng.random() < 0.5, "languages": languages,
            "teaching_styles": rng.sample(STYLES, 2),
            "subjects": [{"subject": s["slug"], "level": rng.choice(LEVELS)} for s in taught],
        },
        "availability": {
            "weekdays": sorted(rng.sample(range(7), rng.randint(3, 6))),
            "hours": rng.choice((("09:00", "13:00"), ("14:00", "19:00"), ("17:00", "21:00"), ("08:00", "12:00"))),
            "instant_booking": rng.random() < 0.4, "session_lengths": rng.choice(([60], [30, 60], [60, 90])),
        },
    }


def market_plan(subjects):
    """Tutors, students, sessions (with reviews) and chats, all decided by one seeded RNG. ``subjects``: the
    catalog as [{"slug", "name"}] (sorted by slug, so the plan does not depend on insertion order)."""
    rng = random.Random(MARKET_SEED)
    subjects = sorted(subjects, key=lambda s: s["slug"])
    used = set()
    tutors = [_tutor(rng, i, name, email, subjects)
              for i, (name, email) in enumerate(_people(rng, TUTOR_COUNT, used))]
    students = [{"email": email, "full_name": name, "timezone": CITIES[i % len(CITIES)][2],
                 "user": {"bio": "Learning with Tutorhub.", "learning_styles": rng.sample(STYLES, 2)}}
                for i, (name, email) in enumerate(_people(rng, STUDENT_COUNT, used))]
    return {"tutors": tutors, "students": students, **_history(rng, tutors, students)}


def _history(rng, tutors, students):
    """Completed sessions on distinct days per tutor and distinct hours per student, most reviewed both ways."""
    sessions, chats, taken = [], [], set()
    for t_index, tutor in enumerate(tutors):
        days = rng.sample(range(3, HISTORY_DAYS), rng.randint(0, 9))
        for day in sorted(days, reverse=True):
            student = rng.choice(students)
            hour = rng.randint(8, 19)
            if (student["email"], day, hour) in taken:
                continue
            taken.add((student["email"], day, hour))
            stars = max(1, min(5, round(rng.gauss(tutor["quality"], 0.6))))
            subject = rng.choice(tutor["profile"]["subjects"])["subject"]
            reviewed = rng.random() < 0.85
            sessions.append({
                "key": f"{t_index}-{day}", "tutor": tutor["email"], "student": student["email"], "subject": subject,
                "days_ago": day, "hour": hour,
                "student_review": ({"overall": stars, "clarity": max(1, stars - rng.randint(0, 1)),
                                    "knowledge": min(5, stars + rng.randint(0, 1)),
                                    "responsiveness": max(1, stars - rng.randint(0, 1)),
                                    "punctuality": rng.choice((stars, 5, 4)), "would_recommend": stars >= 4,
                                    "comment": rng.choice(COMMENTS.get(stars, COMMENTS[2]))} if reviewed else None),
                "tutor_review": ({"preparedness": rng.randint(3, 5), "engagement": rng.randint(3, 5),
                                  "punctuality": rng.randint(3, 5)} if reviewed else None),
            })
    pairs = {(s["student"], s["tutor"], s["subject"]) for s in sessions if s["days_ago"] < 60}
    for student, tutor, subject in sorted(pairs)[:40]:
        chats.append({"student": student, "tutor": tutor, "messages": [(who, text.format(subject=subject.replace("-", " ")))
                                                                       for who, text in CHAT]})
    return {"sessions": sessions, "chats": chats}
