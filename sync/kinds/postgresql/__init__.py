"""PostgreSQL flexible server firewall rules: named IPv4 ranges, owned by name prefix, at most
256 per server (ipsync's bound: the service documents none), each write long-running."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.postgresql.target import PostgresqlTarget
from sync.kinds.rangekind import FlexibleServerKind, flexible_server_needs


class PostgresqlKind(FlexibleServerKind):
    name: ClassVar[str] = "postgresql"
    arm_type: ClassVar[str] = "microsoft.dbforpostgresql/flexibleservers"
    target: ClassVar[type[TargetSpec]] = PostgresqlTarget
    needs: ClassVar[Needs] = flexible_server_needs(
        "postgresql", "Microsoft.DBforPostgreSQL", sdk="azure-mgmt-postgresqlflexibleservers"
    )

    @staticmethod
    def client() -> Callable[..., Any]:
        from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

        return PostgreSQLManagementClient


KIND = PostgresqlKind()
