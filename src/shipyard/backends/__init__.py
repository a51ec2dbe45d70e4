"""Serving-tool backends: where replicas actually run, behind one narrow protocol."""
