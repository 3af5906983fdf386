-- highwater schema, version 6: finding each destination's next message quickly.

-- A destination's messages go in the order they were written (by id), one at a time: only the
-- oldest of its open messages (pending or sending) may be claimed, and only when it is pending
-- and due. This index finds that oldest open message of a destination without reading its
-- delivered history.
CREATE INDEX outbox_open_by_destination ON outbox (destination, id)
    WHERE state IN ('pending', 'sending');
