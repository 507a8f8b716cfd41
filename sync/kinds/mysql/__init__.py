"""MySQL flexible server firewall rules: named IPv4 ranges, owned by name prefix, 500 per server,
each write long-running."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from sync.kinds.base import Needs, TargetSpec
from sync.kinds.mysql.target import MysqlTarget
from sync.kinds.rangekind import FlexibleServerKind, flexible_server_needs


class MysqlKind(FlexibleServerKind):
    name: ClassVar[str] = "mysql"
    arm_type: ClassVar[str] = "microsoft.dbformysql/flexibleservers"
    target: ClassVar[type[TargetSpec]] = MysqlTarget
    needs: ClassVar[Needs] = flexible_server_needs(
        "mysql", "Microsoft.DBforMySQL", sdk="azure-mgmt-mysqlflexibleservers"
    )

    @staticmethod
    def client() -> Callable[..., Any]:
        from azure.mgmt.mysqlflexibleservers import MySQLManagementClient

        return MySQLManagementClient


KIND = MysqlKind()
