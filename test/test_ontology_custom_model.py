"""A user-defined model (the spec's `CustomEncoderTicks`) and the registry's behaviour."""

from __future__ import annotations

from enum import Enum

import pyarrow as pa
import pytest

from mosaico_ros.ontology import (
    IMU,
    DuplicateTagError,
    HeaderMixin,
    Message,
    MosaicoField,
    MosaicoType,
    Point3d,
    Serializable,
    Unmodeled,
    Vector3d,
    batch_to_messages,
    get_model,
    messages_to_batch,
    registered_tags,
    resolve_model,
)


class DriveMode(str, Enum):
    AUTO = 'auto'
    MANUAL = 'manual'


class CustomEncoderTicks(Serializable, HeaderMixin):
    """Wheel encoder ticks; exercises every Python-to-Arrow mapping rule."""

    left_ticks: MosaicoType.uint32 = MosaicoField(description='Left wheel ticks.')
    right_ticks: MosaicoType.uint32 = MosaicoField(description='Right wheel ticks.')
    encoder_timestamp: MosaicoType.uint64 = MosaicoField(description='Encoder clock.')
    wheel_radius: MosaicoType.float32 | None = MosaicoField(None, description='Wheel radius [m].')
    mode: DriveMode = MosaicoField(description='str Enum -> Arrow string.')
    plain_int: int = MosaicoField(description='bare int -> int64.')
    plain_float: float = MosaicoField(description='bare float -> float64.')
    flags: MosaicoType.list_(MosaicoType.bool) = MosaicoField(description='list<bool>.')
    gains: MosaicoType.list_(MosaicoType.float32, list_size=3) = MosaicoField(
        description='fixed_size_list<float,3>.',
    )
    offset: Vector3d | None = MosaicoField(None, description='nested ontology struct.')
    waypoints: list[Point3d] = MosaicoField(description='list<struct> of ontology.')
    counters: dict[str, int] = MosaicoField(description='dict -> map<string,int64>.')
    note: str | None = None


class ExplicitTagModel(Serializable):
    __ontology_tag__ = 'my_org.explicit_tag_v1'

    value: float = MosaicoField(description='A value.')


def test_custom_model_registers_under_its_class_name() -> None:
    assert get_model('CustomEncoderTicks') is CustomEncoderTicks
    assert 'CustomEncoderTicks' in registered_tags()
    assert CustomEncoderTicks.__ontology_tag__ == 'CustomEncoderTicks'
    assert CustomEncoderTicks.__serialization_format__ == 'default'
    assert CustomEncoderTicks.schema_fingerprint() == '0585a179e1'


def test_explicit_tag_is_used_verbatim() -> None:
    assert get_model('my_org.explicit_tag_v1') is ExplicitTagModel
    assert ExplicitTagModel.schema_fingerprint() == 'bb8e742b0a'
    assert get_model('ExplicitTagModel') is None


def test_duplicate_tag_raises_value_error() -> None:
    with pytest.raises(ValueError, match="tag 'IMU'") as caught:

        class IMU(Serializable):
            value: float

    assert isinstance(caught.value, DuplicateTagError)
    assert get_model('IMU') is not None
    assert get_model('IMU').__module__ == 'mosaico_ros.ontology.sensors'


def test_subclass_without_new_tag_is_a_duplicate() -> None:
    with pytest.raises(DuplicateTagError):

        class MyIMU(IMU):
            pass

    class TaggedIMU(IMU):
        __ontology_tag__ = 'test.tagged_imu'

    assert get_model('test.tagged_imu') is TaggedIMU
    assert TaggedIMU.schema_fingerprint() == IMU.schema_fingerprint()


def test_register_false_keeps_class_out_of_registry() -> None:
    class Scratch(Serializable, register=False):
        value: MosaicoType.int16

    assert get_model('Scratch') is None
    assert str(Scratch.arrow_struct()) == 'struct<value: int16 not null>'


def test_custom_model_round_trips_through_batch() -> None:
    messages = [
        Message(
            timestamp_ns=5,
            data=CustomEncoderTicks(
                left_ticks=1,
                right_ticks=2,
                encoder_timestamp=3,
                mode=DriveMode.AUTO,
                plain_int=-1,
                plain_float=0.5,
                flags=[True],
                gains=[1.0, 2.0, 3.0],
                waypoints=[Point3d(x=1.0, y=2.0, z=3.0)],
                counters={'k': 9},
            ),
        ),
    ]
    batch = messages_to_batch(messages)
    assert batch.schema.equals(Message.arrow_schema(CustomEncoderTicks), check_metadata=True)
    decoded = batch_to_messages(batch, CustomEncoderTicks)
    assert decoded == messages
    assert decoded[0].data.mode is DriveMode.AUTO
    assert decoded[0].data.counters == {'k': 9}


def test_fixed_size_list_length_is_validated() -> None:
    with pytest.raises(ValueError, match='gains'):
        CustomEncoderTicks(
            left_ticks=1,
            right_ticks=2,
            encoder_timestamp=3,
            mode='auto',
            plain_int=1,
            plain_float=1.0,
            flags=[],
            gains=[1.0],
            waypoints=[],
            counters={},
        )


def test_resolve_model_returns_registered_class_on_matching_schema() -> None:
    assert resolve_model('IMU', Message.arrow_schema(IMU)) is IMU
    assert resolve_model('IMU', IMU.arrow_struct()) is IMU


def test_resolve_model_unknown_tag_gives_cached_dynamic_class() -> None:
    struct = pa.struct([pa.field('a', pa.int32(), nullable=False), pa.field('b', pa.string())])
    model = resolve_model('test.unknown_tag', struct)
    assert issubclass(model, Unmodeled)
    assert model.ontology_tag() == 'test.unknown_tag'
    assert model.arrow_struct() == struct
    assert get_model('test.unknown_tag') is None
    assert resolve_model('test.unknown_tag', struct) is model
    batch = pa.RecordBatch.from_pydict(
        {'timestamp_ns': [1, 2], 'a': [7, 8], 'b': ['x', None]},
        schema=pa.schema([pa.field('timestamp_ns', pa.int64(), nullable=False), *struct]),
    )
    decoded = batch_to_messages(batch, model)
    assert [message.timestamp_ns for message in decoded] == [1, 2]
    assert [message.data.raw_data for message in decoded] == [
        {'a': 7, 'b': 'x'},
        {'a': 8, 'b': None},
    ]
    assert messages_to_batch(decoded, model).equals(batch)


def test_unmodeled_validates_raw_data_against_struct() -> None:
    struct = pa.struct([pa.field('a', pa.int32(), nullable=False)])
    model = resolve_model('test.checked_tag', struct)
    with pytest.raises(ValueError, match='unknown fields'):
        model(raw_data={'a': 1, 'zzz': 2})
    with pytest.raises(ValueError, match='required'):
        model(raw_data={})


def test_resolve_model_known_tag_other_schema_gives_variant() -> None:
    struct = pa.struct([pa.field('data', pa.float64(), nullable=False)])
    variant = resolve_model('IMU', struct)
    assert variant is not IMU
    assert issubclass(variant, Unmodeled)
    assert variant.ontology_tag() == 'IMU'
    assert variant.__registry_key__ == f'IMU__{variant.schema_fingerprint()}'
    assert get_model('IMU') is IMU
