"""Chat: the channel-neutral conversation core, the user flows, and the channel adapters."""
