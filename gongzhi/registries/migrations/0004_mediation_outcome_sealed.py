"""A mediation's outcome (结果) names the parties and their dispute: it becomes a sealed field like the
summary and the agreement. The column widens to text first, then every existing plaintext is
encrypted in place; backwards, the tokens are decrypted first, then the column narrows again.

Raw SQL on purpose: the historical model's field is already the ``SealedField``, which would read a
stored plaintext as if it were a token."""

from django.db import migrations

import gongzhi.registries.crypto

BATCH = 500


def _rewrite(apps, schema_editor, convert, *, tokens: bool):
    from gongzhi.registries import crypto

    Mediation = apps.get_model("registries", "Mediation")
    connection = schema_editor.connection
    table = connection.ops.quote_name(Mediation._meta.db_table)
    column = connection.ops.quote_name(Mediation._meta.get_field("outcome").column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} <> '' ORDER BY id")
        rows = [(pk, value) for pk, value in cursor.fetchall()
                if value.startswith(crypto.PREFIX) is tokens]
        for start in range(0, len(rows), BATCH):
            cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s",
                               [(convert(value), pk) for pk, value in rows[start:start + BATCH]])


def seal(apps, schema_editor):
    from gongzhi.registries import crypto

    _rewrite(apps, schema_editor, crypto.encrypt, tokens=False)


def unseal(apps, schema_editor):
    from gongzhi.registries import crypto

    _rewrite(apps, schema_editor, lambda token: crypto.decrypt(token)[:200], tokens=True)


class Migration(migrations.Migration):

    dependencies = [
        ('registries', '0003_person_unique_id_number'),
    ]

    operations = [
        migrations.AlterField(
            model_name='mediation',
            name='outcome',
            field=gongzhi.registries.crypto.SealedField(blank=True, default='', verbose_name='结果'),
        ),
        migrations.RunPython(seal, unseal),
    ]
