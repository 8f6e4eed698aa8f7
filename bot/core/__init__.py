"""The channel-free core: dialogue engine, flows, content, booking, handover, NLU client, stores.

Nothing here imports a connector or a process, and no channel is named: a connector describes
its channel to the core through `Capabilities` on each `IncomingMessage`.
"""
