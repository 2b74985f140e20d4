"""DoAction names."""

from enum import Enum


class Action(str, Enum):
    """Every DoAction type the 0.7.0 SDK sends, and the key actions (`protocol.api_keys`)."""

    INFO = 'info'
    SEQUENCE_CREATE = 'sequence_create'
    SEQUENCE_DELETE = 'sequence_delete'
    SESSION_CREATE = 'session_create'
    SESSION_FINALIZE = 'session_finalize'
    SESSION_DELETE = 'session_delete'
    TOPIC_CREATE = 'topic_create'
    TOPIC_DELETE = 'topic_delete'
    SEQUENCE_NOTIFICATION_CREATE = 'sequence_notification_create'
    SEQUENCE_NOTIFICATION_LIST = 'sequence_notification_list'
    SEQUENCE_NOTIFICATION_PURGE = 'sequence_notification_purge'
    TOPIC_NOTIFICATION_CREATE = 'topic_notification_create'
    TOPIC_NOTIFICATION_LIST = 'topic_notification_list'
    TOPIC_NOTIFICATION_PURGE = 'topic_notification_purge'
    QUERY = 'query'
    TOPIC_FILTER_CLUSTERIZE = 'topic_filter_clusterize'
    TOPIC_FILTER_INTERSECT = 'topic_filter_intersect'
    API_KEY_CREATE = 'api_key_create'
    API_KEY_STATUS = 'api_key_status'
    API_KEY_REVOKE = 'api_key_revoke'
    API_KEY_LIST = 'api_key_list'
    API_KEY_PURGE = 'api_key_purge'

    @property
    def paged(self) -> bool:
        """Whether every Result of this action is its own response envelope."""
        return self in (Action.TOPIC_FILTER_CLUSTERIZE, Action.TOPIC_FILTER_INTERSECT)
