"""Keeping Teamwork Graph in sync: a state store per connection, per-object decisions, deletes.

The sync stage sees finished, validated objects only (`MappedObject` payloads), never
expressions: it does not import the language or engine packages.
"""
