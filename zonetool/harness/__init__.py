"""The sender-testing harness: reference delivery plans, resolvers, SMTP sinks."""
