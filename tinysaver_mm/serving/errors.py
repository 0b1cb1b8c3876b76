"""The error a bad request gets: an HTTP status and a message naming the problem."""

__all__ = ['RequestError']


class RequestError(ValueError):
    """A request the server refuses (4xx) or cannot answer now (5xx).

    Args:
        status (int): HTTP status code.
        message (str): What is wrong and how to fix it.
        kind (str): A short machine-readable name (e.g. ``'not_an_image'``).
    """

    def __init__(self, status: int, message: str, kind: str = 'bad_request'):
        super().__init__(message)
        self.status, self.message, self.kind = int(status), message, kind

    def payload(self) -> dict:
        """The JSON body of the refusal."""
        return dict(error=self.kind, status=self.status, message=self.message)
