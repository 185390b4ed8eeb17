"""The Blueprint every API module uses: flask-smorest's, with the bounded input parsers of app.common.inputs."""
import flask_smorest

from app.common.inputs import InputParser, PaginationParser


class Blueprint(flask_smorest.Blueprint):
    """flask_smorest.Blueprint whose arguments (every location) and pagination parameters are bounded."""

    ARGUMENTS_PARSER = InputParser()
    PAGINATION_ARGUMENTS_PARSER = PaginationParser()
