"""The chat layer: PTB context, the update's transaction, flows, intake, dispatch and the outbox sender."""
