"""Tenant isolation enforced by PostgreSQL itself, and the migrations."""
import os
import shutil
import subprocess

import pytest

from conftest import SRC
from tenants import Tenant, psql

TENANT_TABLES = ["gerbang.companies", "gerbang.users", "gerbang.refresh_tokens"]


@pytest.fixture(scope="module")
def two(stack):
    return Tenant(stack), Tenant(stack)


def runtime(stack, sql, check=True):
    return psql(stack, sql, user="gerbang", check=check)


def test_runtime_role_without_tenant_sees_nothing(stack, two):
    assert int(psql(stack, "select count(*) from gerbang.users")[0]) >= 6   # owner sees all
    for table in TENANT_TABLES:
        assert runtime(stack, f"select count(*) from {table}") == ["0"], table


def test_runtime_role_sees_only_its_tenant(stack, two):
    a, b = two
    rows = runtime(stack, f"begin; select set_config('app.company_id', '{a.id}', true); "
                          "select 'rows', company_id from gerbang.users; commit")
    seen = {r.split("|")[1] for r in rows if r.startswith("rows|")}
    assert seen == {a.id}
    # the setting is local to the transaction: gone afterwards
    assert runtime(stack, "select coalesce(current_setting('app.company_id', true), '')") == [""]


def test_runtime_role_cannot_write_another_tenant(stack, two):
    a, b = two
    p = subprocess.run(["psql", f"postgresql:///gerbang?host={stack.run}&user=gerbang", "-qAt",
                        "-v", "ON_ERROR_STOP=1", "-c",
                        f"begin; select set_config('app.company_id', '{a.id}', true); "
                        "insert into gerbang.users (company_id, email, password_hash, role) "
                        f"values ('{b.id}', 'x@y.z', '*', 'member'); commit"],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "row-level security" in p.stderr
    runtime(stack, f"begin; select set_config('app.company_id', '{a.id}', true); "
                             f"update gerbang.users set role = 'owner' where company_id = '{b.id}'; commit")
    assert psql(stack, f"select count(*) from gerbang.users where company_id = '{b.id}' "
                       "and role = 'owner'") == ["1"]


def test_catalog(stack):
    # the runtime roles own nothing
    owned = psql(stack, """
        select count(*) from pg_class c join pg_roles r on r.oid = c.relowner
        where r.rolname in ('gerbang', 'gerbang_runtime')
        union all
        select count(*) from pg_proc p join pg_roles r on r.oid = p.proowner
        where r.rolname in ('gerbang', 'gerbang_runtime')
        union all
        select count(*) from pg_namespace n join pg_roles r on r.oid = n.nspowner
        where r.rolname in ('gerbang', 'gerbang_runtime')""")
    assert owned == ["0", "0", "0"]
    # neither SUPERUSER nor BYPASSRLS, and no role granted to them has either
    assert psql(stack, """
        select count(*) from pg_roles r
        where (r.rolsuper or r.rolbypassrls)
          and (r.rolname in ('gerbang', 'gerbang_runtime')
               or pg_has_role('gerbang', r.oid, 'member'))""") == ["0"]
    # every table of the schema is a tenant table with ENABLE and FORCE
    rows = psql(stack, """
        select c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (select count(*) from pg_policy p where p.polrelid = c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'gerbang' and c.relkind = 'r' order by 1""")
    assert rows, "no tables"
    for row in rows:
        name, enabled, forced, policies = row.split("|")
        assert enabled == "t" and forced == "t" and int(policies) >= 1, row


def migrate(stack, *args, dbname="gerbang", sql_dir=None):
    env = {**os.environ,
           "MIGRATE_DATABASE_URL": f"postgresql:///{dbname}?host={stack.run}&user=gerbang_owner"}
    return subprocess.run([str(stack.build / "tools" / "gerbang-migrate"),
                           "--dir", str(sql_dir or SRC / "sql"), *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_migrate_is_idempotent(stack):
    p = migrate(stack, "up")
    assert p.returncode == 0 and "up to date" in p.stdout, p
    p = migrate(stack, "status")
    assert p.returncode == 0 and "applied  001_identity.sql" in p.stdout
    assert "applied  002_users_list_index.sql" in p.stdout


def test_migrate_refuses_a_changed_file(stack, tmp_path):
    d = tmp_path / "sql"
    shutil.copytree(SRC / "sql", d)
    with open(d / "001_identity.sql", "a") as f:
        f.write("\n-- edited\n")
    p = migrate(stack, "up", sql_dir=d)
    assert p.returncode == 1 and "has changed" in p.stderr, p


def test_migrate_rejects_bad_names(stack, tmp_path):
    d = tmp_path / "sql"
    shutil.copytree(SRC / "sql", d)
    (d / "2_bad.sql").write_text("select 1;")
    p = migrate(stack, "status", sql_dir=d)
    assert p.returncode == 1 and "2_bad.sql" in p.stderr


def test_concurrent_migrations_do_not_collide(stack):
    db = "mig_" + os.urandom(4).hex()
    psql(stack, f"create database {db} owner gerbang_owner", user="postgres")
    try:
        env = {**os.environ,
               "MIGRATE_DATABASE_URL": f"postgresql:///{db}?host={stack.run}&user=gerbang_owner"}
        procs = [subprocess.Popen([str(stack.build / "tools" / "gerbang-migrate"), "--dir",
                                   str(SRC / "sql"), "up"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outs
        assert sum("applied  001" in o for o, _ in outs) == 1, outs
        rows = subprocess.run(["psql", f"postgresql:///{db}?host={stack.run}&user=gerbang_owner",
                               "-qAt", "-c", "select count(*) from gerbang_migrations.applied"],
                              capture_output=True, text=True).stdout.split()
        assert rows == [str(len(list((SRC / "sql").glob("*.sql"))))]
    finally:
        psql(stack, f"drop database {db}", user="postgres")


def test_migrate_needs_the_owner_url(stack):
    env = {k: v for k, v in os.environ.items() if k != "MIGRATE_DATABASE_URL"}
    p = subprocess.run([str(stack.build / "tools" / "gerbang-migrate"), "status"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 78 and "MIGRATE_DATABASE_URL" in p.stderr
