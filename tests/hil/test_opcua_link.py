"""The OPC-UA link's subscription: a burst of every input arrives whole, and each
PublishResponse is acknowledged (the link takes a response's changes in one go)."""

from __future__ import annotations

from opcua_support import CITY, OPERATOR, running_field, wait_for

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from hil.opcua import OpcUaControllerLink

INPUTS = [p for p in CITY if p.direction is Direction.INPUT]


def _sample(spec: PointSpec, k: int) -> Sample:
    """Burst ``k``'s sample of ``spec`` (a value of its type, UNCERTAIN every third burst)."""
    value: object = {ValueType.INT: k, ValueType.STR: f"burst {k}"}.get(spec.value_type, k + 0.5)
    return Sample(value, Quality.UNCERTAIN if k % 3 == 0 else Quality.GOOD, float(k))


def test_bursts_of_every_input_arrive_whole_and_are_acknowledged() -> None:
    with running_field(CITY) as field:
        link = OpcUaControllerLink(field.url, INPUTS, [], user=OPERATOR[0], password=OPERATOR[1])
        link.connect(10.0)
        try:
            for k in range(1, 31):
                field.publish(float(k), {p.name: _sample(p, k) for p in INPUTS})
            last = {p.name: _sample(p, 30) for p in INPUTS}
            wait_for(lambda: link.latest(0.0) == last, 5.0, "the last burst")
            assert list(link.latest(0.0)) == [p.name for p in INPUTS]  # in input order
            assert link.stats["received"] >= 2 * len(INPUTS)  # the first read, then changes
            # the server keeps each notification message until the client acknowledges
            # it (and would resend it); none may pile up
            server = field._server
            assert server is not None
            subscriptions = server.iserver.subscription_service.subscriptions.values()
            wait_for(
                lambda: all(not sub._not_acknowledged_results for sub in subscriptions),
                5.0,
                "every notification message to be acknowledged",
            )
        finally:
            link.close()
