"""Learning goals, session notes, the student dashboard and the tutor impact."""
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.progress import services
from app.progress.schemas import (
    DashboardSchema,
    GoalInSchema,
    GoalPatchSchema,
    GoalSchema,
    ImpactSchema,
    NoteInSchema,
    NotePatchSchema,
    NoteSchema,
    WindowQuerySchema,
)

blp = Blueprint("progress", __name__, url_prefix="/api/v1",
                description="Learning goals, session notes, the student dashboard and the tutor impact")

GOAL_EXAMPLE = {"subject": "calculus", "target_level": "university", "target_hours": 20,
                "target_date": "2027-06-01", "note": "AP Calculus exam"}
NOTE_EXAMPLE = {"topics": "Limits and continuity", "homework": "Exercises 3.1–3.12", "progress_mark": 4}
GOAL_OUT_EXAMPLE = {"id": 1, **GOAL_EXAMPLE, "created_at": "2026-12-01T09:00:00+00:00",
                    "updated_at": "2026-12-01T09:00:00+00:00"}
NOTE_OUT_EXAMPLE = {"booking_id": 7, "tutor_id": 2, "student_id": 5, "subject": "calculus",
                    "session_at": "2026-12-01T15:00:00+00:00", **NOTE_EXAMPLE,
                    "created_at": "2026-12-01T16:05:00+00:00", "updated_at": "2026-12-01T16:05:00+00:00"}
DASHBOARD_EXAMPLE = {
    "from": "2026-09-07T00:00:00+00:00", "to": "2026-10-05T00:00:00+00:00",
    "totals": {"sessions": 3, "minutes": 210, "hours": 3.5, "subjects": 1},
    "sessions_by_week": [
        {"week_start": "2026-09-07", "subject": "calculus", "sessions": 2, "minutes": 150, "hours": 2.5},
        {"week_start": "2026-09-21", "subject": "calculus", "sessions": 1, "minutes": 60, "hours": 1.0}],
    "progress_marks": [
        {"booking_id": 7, "session_at": "2026-09-08T10:00:00+00:00", "subject": "calculus", "tutor_id": 2,
         "progress_mark": 4},
        {"booking_id": 9, "session_at": "2026-09-22T10:00:00+00:00", "subject": "calculus", "tutor_id": 2,
         "progress_mark": 2}],
    "ratings": {"points": [{"booking_id": 7, "rated_at": "2026-09-09T08:00:00+00:00", "preparedness": 2,
                            "engagement": 4, "punctuality": 5}],
                "averages": {"preparedness": 2.0, "engagement": 4.0, "punctuality": 5.0}},
    "goals": [{**GOAL_OUT_EXAMPLE, "progress": {"sessions": 3, "hours_done": 3.5, "hours_percent": 17.5,
                                                "latest_marks_average": 3.0, "level_percent": 50.0}}],
    "streaks": {"current_weeks": 1, "longest_weeks": 2},
    "upcoming_sessions": [{"booking_id": 12, "subject": "calculus", "tutor_id": 2, "tutor_name": "María García",
                           "state": "confirmed", "start_at": "2026-12-09T15:00:00+00:00",
                           "end_at": "2026-12-09T16:00:00+00:00"}],
    "courses_in_progress": [],
    "areas_to_improve": {"lowest_rated_dimensions": [{"dimension": "preparedness", "average": 2.0}],
                         "falling_subjects": [{"subject": "calculus", "first_mark": 4, "last_mark": 2, "marks": 2}]},
}
IMPACT_EXAMPLE = {
    "from": "2026-09-07T00:00:00+00:00", "to": "2026-10-05T00:00:00+00:00",
    "active_students": 2, "repeat_rate": 0.5,
    "retention": [{"after_sessions": 1, "students": 2, "returned": 1, "rate": 0.5},
                  {"after_sessions": 3, "students": 1, "returned": 1, "rate": 1.0},
                  {"after_sessions": 5, "students": 0, "returned": 0, "rate": None}],
    "sessions": {"completed": 4, "no_show": 1, "cancelled": 1, "total": 6, "completion_rate": 0.6667,
                 "no_show_rate": 0.1667, "cancellation_rate": 0.1667},
    "progress_marks": [{"week_start": "2026-09-07", "notes": 3, "students": 2, "average_mark": 4.0}],
    "ratings": {"reviews": 1, "averages": {"clarity": 5.0, "knowledge": 4.0, "responsiveness": 3.0,
                                           "punctuality": 2.0, "overall": 4.0},
                "trend": [{"week_start": "2026-09-07", "reviews": 1, "clarity": 5.0, "knowledge": 4.0,
                           "responsiveness": 3.0, "punctuality": 2.0, "overall": 4.0}]},
    "response_times": {"booking_requests": {"answered": 3, "median_minutes": 60.0, "mean_minutes": 70.0},
                       "messages": {"answered": 2, "unanswered": 1, "median_minutes": 40.0, "mean_minutes": 40.0}},
    "earnings": {"link": "/api/v1/tutors/me/earnings?from=2026-09-07T00%3A00%3A00%2B00%3A00&to=2026-10-05T00%3A00%3A"
                         "00%2B00%3A00",
                 "totals": [{"currency": "EUR", "gross_minor": 18000, "commission_minor": 2700, "refunds_minor": 0,
                             "net_minor": 15300, "sessions": 4}]},
}
WINDOW = ("`from`/`to` (ISO 8601 with offset) bound the window `[from, to)`, by default the last "
          "PROGRESS_DEFAULT_DAYS (90) days. Weeks are ISO weeks in UTC, named by their Monday. Rates are 0–1 with "
          "4 decimals (null when nothing to divide by). 422: a naive timestamp, `to` not after `from`, a window "
          "longer than ANALYTICS_MAX_DAYS (366).")
DASHBOARD_DESCRIPTION = (
    "My learning: `totals` and `sessions_by_week` (completed sessions that started in the window, per week and "
    "subject), `progress_marks` (my tutors' 1–5 marks on those sessions), `ratings` (my tutors' released "
    "preparedness/engagement/punctuality ratings of me written in the window, with averages), `goals` with "
    "progress as of `to` (hours of completed sessions in the subject before the target date; level from the average of my "
    "latest 3 marks in the subject), `streaks` (consecutive weeks with a completed session up to `to`), "
    "`upcoming_sessions` (requested or confirmed, from now, 10 at most), `courses_in_progress` (when the courses "
    "domain exists; [] until then) and `areas_to_improve` (the lowest-rated dimensions, subjects whose latest mark "
    "in the window is below their first). " + WINDOW)
IMPACT_DESCRIPTION = (
    "My impact: `active_students` (with a completed session in the window), `repeat_rate` (share of them with two "
    "or more completed sessions with me, all history to `to`), `retention` (of active students with ≥ N sessions, "
    "how many had N+1), `sessions` (sessions that started in the window: completed, no-show, cancelled, and rates "
    "over their sum), `progress_marks` (my notes' marks per week), `ratings` (students' released ratings of me "
    "per dimension and week), `response_times` (booking requests made in the window until I accepted or "
    "rejected them; messages people sent me until my reply, in minutes) and `earnings` (payments' earnings "
    "totals for the window, and the link to its detail). " + WINDOW)


@blp.route("/goals")
class Goals(MethodView):
    @auth_required("student")
    @blp.doc(summary="My learning goals", description="Oldest first. Students only (403 for other accounts).")
    @blp.response(200, GoalSchema(many=True), example=[GOAL_OUT_EXAMPLE])
    @blp.paginate(max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters):
        return paginate(services.goals_query(current_user), pagination_parameters)

    @auth_required("student")
    @blp.doc(summary="Set a learning goal", description="A known subject, a target level (one of the levels "
             "tutors teach at) and/or target hours (1–1000), a target date after today (UTC), an optional note.")
    @blp.arguments(GoalInSchema, examples={"example": {"value": GOAL_EXAMPLE}})
    @blp.response(201, GoalSchema, example=GOAL_OUT_EXAMPLE)
    @blp.alt_response(422, description="Unknown subject or level, hours out of 1–1000, target date not after "
                      "today, no target, unknown field")
    @unit_of_work()
    def post(self, data):
        return services.create_goal(current_user, data)


@blp.route("/goals/<int:goal_id>")
class Goal(MethodView):
    @auth_required("student")
    @blp.doc(summary="One of my goals", description="Another student's goal is 404.")
    @blp.response(200, GoalSchema, example=GOAL_OUT_EXAMPLE)
    @blp.alt_response(404, description="No such goal of mine")
    def get(self, goal_id):
        return services.get_goal(current_user, goal_id)

    @auth_required("student")
    @blp.doc(summary="Change a goal", description="Any of the fields; the goal keeps a target level or hours.")
    @blp.arguments(GoalPatchSchema, examples={"example": {"value": {"target_hours": 30}}})
    @blp.response(200, GoalSchema, example=GOAL_OUT_EXAMPLE)
    @blp.alt_response(404, description="No such goal of mine")
    @unit_of_work()
    def patch(self, changes, goal_id):
        return services.update_goal(current_user, goal_id, changes)

    @auth_required("student")
    @blp.doc(summary="Delete a goal", description="Another student's goal is 404.")
    @blp.response(204)
    @blp.alt_response(404, description="No such goal of mine")
    @unit_of_work()
    def delete(self, goal_id):
        services.delete_goal(current_user, goal_id)


@blp.route("/bookings/<int:booking_id>/session-note")
class SessionNote(MethodView):
    @auth_required()
    @blp.doc(summary="A session's note", description="The session's tutor and student (and admins) read it; "
             "anyone else gets 404, as does a session without a note.")
    @blp.response(200, NoteSchema, example=NOTE_OUT_EXAMPLE)
    @blp.alt_response(404, description="No such booking of mine, or no note yet")
    def get(self, booking_id):
        return services.get_note(current_user, booking_id)

    @auth_required("tutor")
    @blp.doc(summary="Write a session note (tutor)", description="Once per completed session, by its tutor: "
             "topics covered, homework and a 1–5 progress mark; the student sees it. 403 for the session's "
             "student, 404 for anyone else, 409 before completion or when a note exists.")
    @blp.arguments(NoteInSchema, examples={"example": {"value": NOTE_EXAMPLE}})
    @blp.response(201, NoteSchema, example=NOTE_OUT_EXAMPLE)
    @blp.alt_response(404, description="No such booking of mine")
    @blp.alt_response(409, description="The session is not completed, or already has a note")
    @unit_of_work()
    def post(self, data, booking_id):
        return services.create_note(current_user, booking_id, data)

    @auth_required("tutor")
    @blp.doc(summary="Edit a session note (tutor)", description="Its tutor, within SESSION_NOTE_EDIT_DAYS (7) of "
             "writing it (409 after).")
    @blp.arguments(NotePatchSchema, examples={"example": {"value": {"progress_mark": 5}}})
    @blp.response(200, NoteSchema, example=NOTE_OUT_EXAMPLE)
    @blp.alt_response(404, description="No such booking of mine, or no note yet")
    @blp.alt_response(409, description="The edit window has closed")
    @unit_of_work()
    def patch(self, changes, booking_id):
        return services.edit_note(current_user, booking_id, changes)


@blp.route("/students/me/dashboard")
@auth_required("student")
@blp.doc(summary="My learning dashboard", description=DASHBOARD_DESCRIPTION)
@blp.arguments(WindowQuerySchema, location="query")
@blp.response(200, DashboardSchema, example=DASHBOARD_EXAMPLE)
@blp.alt_response(422, description="Naive timestamp, `to` not after `from`, window longer than ANALYTICS_MAX_DAYS")
def my_dashboard(query):
    return services.student_dashboard(current_user, query.get("since"), query.get("until"))


@blp.route("/tutors/me/impact")
@auth_required("tutor")
@blp.doc(summary="My impact as a tutor", description=IMPACT_DESCRIPTION)
@blp.arguments(WindowQuerySchema, location="query")
@blp.response(200, ImpactSchema, example=IMPACT_EXAMPLE)
@blp.alt_response(422, description="Naive timestamp, `to` not after `from`, window longer than ANALYTICS_MAX_DAYS")
def my_impact(query):
    return services.tutor_impact(current_user, query.get("since"), query.get("until"))
