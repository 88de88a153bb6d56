"""What the emulator needs to know about each service beyond the service table: one row per service key.

Hosts, versions, name patterns, cancel bodies, missing verbs and wait styles come from
``airflow_provider_gcp_ops.operations.services`` (the table the client reads too). This table holds only what an
emulated server produces: how operation ids look, which collection a default name goes under, which metadata
``@type`` and fields the service writes, and the default success response. Sources: the recorded exchanges in
``tests/fixtures/recorded`` (Dataproc, AlloyDB, Vertex AI, Spanner, Composer, Cloud Run) and the services'
published protos (Data Fusion, Data Lineage, Dialogflow).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from airflow_provider_gcp_ops.operations.services import ServiceSpec


class IdStyle(str, enum.Enum):
    UUID = "uuid"  # 91ecdd0d-9cab-422c-b991-3936eb579e76 (Cloud Run, Dataproc, Composer)
    MILLIS_HEX = "operation-millis-hex"  # operation-1712954502094-615ec4c9d1e61-85fa6e27-1c9a5a51
    NUMERIC = "numeric"  # 1234567890123456789 (Vertex AI)
    HEX16 = "hex16"  # b8fc976ca6c437b2 (Spanner)


class MetadataKind(str, enum.Enum):
    DATAPROC = "dataproc"  # ClusterOperationMetadata: status.state PENDING/RUNNING/DONE + statusHistory
    GENERIC = "generic"  # OperationMetadata: createTime, endTime, target, verb, requestedCancellation, apiVersion
    STATE_RESOURCE = "state_resource"  # state, operationType, resource, resourceUuid, createTime, endTime
    VERTEX = "vertex"  # genericMetadata.createTime/updateTime
    SPANNER = "spanner"  # instance, startTime, cancelTime, endTime
    RUN = "run"  # the resource itself (google.cloud.run.v2.Service)
    DIALOGFLOW = "dialogflow"  # state PENDING/RUNNING/DONE


EMPTY = "type.googleapis.com/google.protobuf.Empty"


@dataclass(frozen=True)
class ServiceProfile:
    """How an emulated service names and describes its operations.

    ``collection``: the segment after ``projects/{p}/`` that holds the location (``regions``, ``locations``,
    ``instances``). ``global_collection``: when true, the location ``global`` means ``projects/{p}/operations``
    (Dialogflow ES). Type templates take ``{version}``; ``metadata_types`` overrides the metadata ``@type`` per
    API version prefix (Dialogflow CX vs ES).
    """

    key: str
    collection: str
    default_location: str
    id_style: IdStyle
    metadata_kind: MetadataKind
    metadata_type: str
    response_type: str = EMPTY
    resource_collection: str = "resources"
    verb: str = "create"
    iam_prefix: str = ""  # permission prefix in PERMISSION_DENIED messages; default "{key}.operations"
    global_collection: bool = False
    metadata_types: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata_types", MappingProxyType(dict(self.metadata_types)))

    def metadata_type_for(self, version: str) -> str:
        for prefix, template in self.metadata_types.items():
            if version.startswith(prefix):
                return template.format(version=version)
        return self.metadata_type.format(version=version)

    def response_type_for(self, version: str) -> str:
        return self.response_type.format(version=version)

    def permission(self, verb: str) -> str:
        return f"{self.iam_prefix or self.key + '.operations'}.{verb}"

    def collection_path(self, project: str, location: str) -> str:
        if self.global_collection and location == "global":
            return f"projects/{project}"
        return f"projects/{project}/{self.collection}/{location}"


_T = "type.googleapis.com/"

_PROFILES: tuple[ServiceProfile, ...] = (
    ServiceProfile(
        key="dataproc",
        collection="regions",
        default_location="us-central1",
        id_style=IdStyle.UUID,
        metadata_kind=MetadataKind.DATAPROC,
        metadata_type=_T + "google.cloud.dataproc.{version}.ClusterOperationMetadata",
        resource_collection="clusters",
    ),
    ServiceProfile(
        key="datafusion",
        collection="locations",
        default_location="us-central1",
        id_style=IdStyle.MILLIS_HEX,
        metadata_kind=MetadataKind.GENERIC,
        metadata_type=_T + "google.cloud.datafusion.{version}.OperationMetadata",
        resource_collection="instances",
    ),
    ServiceProfile(
        key="dialogflow",
        collection="locations",
        default_location="global",
        id_style=IdStyle.UUID,
        metadata_kind=MetadataKind.DIALOGFLOW,
        metadata_type=_T + "google.cloud.dialogflow.{version}.KnowledgeOperationMetadata",
        metadata_types={"v3": _T + "google.cloud.dialogflow.cx.{version}.GenericKnowledgeOperationMetadata"},
        resource_collection="knowledgeBases",
        global_collection=True,
    ),
    ServiceProfile(
        key="datalineage",
        collection="locations",
        default_location="us-central1",
        id_style=IdStyle.MILLIS_HEX,
        metadata_kind=MetadataKind.STATE_RESOURCE,
        metadata_type=_T + "google.cloud.datacatalog.lineage.{version}.OperationMetadata",
        resource_collection="processes",
        verb="delete",
    ),
    ServiceProfile(
        key="aiplatform",
        collection="locations",
        default_location="us-central1",
        id_style=IdStyle.NUMERIC,
        metadata_kind=MetadataKind.VERTEX,
        metadata_type=_T + "google.cloud.aiplatform.{version}.DeleteOperationMetadata",
        resource_collection="datasets",
        verb="delete",
    ),
    ServiceProfile(
        key="spanner",
        collection="instances",
        default_location="demo-instance",
        id_style=IdStyle.HEX16,
        metadata_kind=MetadataKind.SPANNER,
        metadata_type=_T + "google.spanner.admin.instance.{version}.UpdateInstanceMetadata",
        response_type=_T + "google.spanner.admin.instance.{version}.Instance",
        resource_collection="instances",
        verb="update",
        iam_prefix="spanner.instanceOperations",
    ),
    ServiceProfile(
        key="alloydb",
        collection="locations",
        default_location="us-central1",
        id_style=IdStyle.MILLIS_HEX,
        metadata_kind=MetadataKind.GENERIC,
        metadata_type=_T + "google.cloud.alloydb.{version}.OperationMetadata",
        resource_collection="clusters",
    ),
    ServiceProfile(
        key="run",
        collection="locations",
        default_location="us-central1",
        id_style=IdStyle.UUID,
        metadata_kind=MetadataKind.RUN,
        metadata_type=_T + "google.cloud.run.{version}.Service",
        response_type=_T + "google.cloud.run.{version}.Service",
        resource_collection="services",
    ),
    ServiceProfile(
        key="composer",
        collection="locations",
        default_location="us-central1",
        id_style=IdStyle.UUID,
        metadata_kind=MetadataKind.STATE_RESOURCE,
        metadata_type=_T + "google.cloud.orchestration.airflow.service.{version}.OperationMetadata",
        resource_collection="environments",
    ),
)

_BY_KEY: Mapping[str, ServiceProfile] = MappingProxyType({p.key: p for p in _PROFILES})


def profile_for(spec: ServiceSpec) -> ServiceProfile:
    """The emulator profile of a service row; rows added at runtime get a generic profile built from the row."""
    known = _BY_KEY.get(spec.key)
    if known is not None:
        return known
    segments = spec.name_patterns[0].split("/")
    collection = segments[2] if len(segments) > 4 and segments[0] == "projects" else "locations"
    return ServiceProfile(
        key=spec.key,
        collection=collection,
        default_location="us-central1",
        id_style=IdStyle.MILLIS_HEX,
        metadata_kind=MetadataKind.GENERIC,
        metadata_type=_T + "google.cloud.common.OperationMetadata",
    )


def known_profiles() -> Mapping[str, ServiceProfile]:
    return _BY_KEY
