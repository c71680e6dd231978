"""The one exception type for mistakes a user can fix; the CLI turns it into exit code 2."""


class UserError(Exception):
    """A problem with the user's input: the message is one sentence naming the problem and the fix."""
