"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 02:27:10.421093
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_events',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('version', sa.String(length=50), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_model', ['model', 'seq'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('environments',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('python_version', sa.String(length=50), nullable=False),
    sa.Column('python_implementation', sa.String(length=50), nullable=False),
    sa.Column('platform', sa.String(length=300), nullable=False),
    sa.Column('machine', sa.String(length=50), nullable=False),
    sa.Column('cpu_model', sa.String(length=300), nullable=True),
    sa.Column('cpu_count', sa.Integer(), nullable=True),
    sa.Column('gpus', sa.Text(), nullable=False),
    sa.Column('packages', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_environments'))
    )
    op.create_table('models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_models')),
    sa.UniqueConstraint('name', name=op.f('uq_models_name'))
    )
    op.create_table('metric_goals',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('goal', sa.String(length=10), nullable=False),
    sa.Column('tolerance', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_metric_goals_model_id_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'name', name=op.f('pk_metric_goals'))
    )
    op.create_table('versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=50), nullable=False),
    sa.Column('major', sa.Integer(), nullable=False),
    sa.Column('minor', sa.Integer(), nullable=False),
    sa.Column('patch', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('stage', sa.String(length=20), server_default='none', nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('code_repo_root', sa.Text(), nullable=True),
    sa.Column('code_commit', sa.String(length=64), nullable=True),
    sa.Column('code_branch', sa.String(length=300), nullable=True),
    sa.Column('code_remote_url', sa.Text(), nullable=True),
    sa.Column('code_dirty', sa.Boolean(), nullable=True),
    sa.Column('code_dirty_files', sa.Text(), nullable=True),
    sa.Column('code_diff_digest', sa.String(length=64), nullable=True),
    sa.Column('environment_fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['environment_fingerprint'], ['environments.fingerprint'], name=op.f('fk_versions_environment_fingerprint_environments')),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], name=op.f('fk_versions_model_id_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['versions.id'], name=op.f('fk_versions_parent_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_versions')),
    sa.UniqueConstraint('model_id', 'version', name=op.f('uq_versions_model_id_version'))
    )
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.create_index('ix_versions_commit', ['code_commit'], unique=False)
        batch_op.create_index('ix_versions_order', ['model_id', 'major', 'minor', 'patch'], unique=False)

    op.create_table('artifacts',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_artifacts_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'name', name=op.f('pk_artifacts'))
    )
    op.create_table('data_snapshots',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('file_count', sa.Integer(), nullable=True),
    sa.Column('manifest', sa.Text(), nullable=True),
    sa.Column('dvc_md5', sa.String(length=80), nullable=True),
    sa.Column('dvc_source', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_data_snapshots_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'role', name=op.f('pk_data_snapshots'))
    )
    with op.batch_alter_table('data_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_data_snapshots_digest', ['digest'], unique=False)

    op.create_table('metric_points',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_metric_points_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'name', 'seq', name=op.f('pk_metric_points'))
    )
    op.create_table('metrics',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.Column('history_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_metrics_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'name', name=op.f('pk_metrics'))
    )
    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_notes_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index('ix_notes_version', ['version_id'], unique=False)

    op.create_table('params',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_params_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'key', name=op.f('pk_params'))
    )
    op.create_table('tags',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_tags_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'key', name=op.f('pk_tags'))
    )



def downgrade() -> None:

    op.drop_table('tags')
    op.drop_table('params')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index('ix_notes_version')

    op.drop_table('notes')
    op.drop_table('metrics')
    op.drop_table('metric_points')
    with op.batch_alter_table('data_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_data_snapshots_digest')

    op.drop_table('data_snapshots')
    op.drop_table('artifacts')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_index('ix_versions_order')
        batch_op.drop_index('ix_versions_commit')

    op.drop_table('versions')
    op.drop_table('metric_goals')
    op.drop_table('models')
    op.drop_table('environments')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_model')

    op.drop_table('audit_events')

