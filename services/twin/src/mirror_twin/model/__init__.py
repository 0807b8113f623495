"""The twin's model, pure (no I/O, no clock of its own): what each host and link looks like.

- twin_state.py  TwinState: each host's latest sample folded into HostViews, links and diffs
- layout.py      a host's OSI layer (1-7) from its tags, and a stable spot on that layer
- links.py       which node a host's link goes up to, and the LinkView drawn for it
- link_table.py  LinkTable: every host's link, kept up to date incrementally
- status.py      online / stale / offline from the time since the last sample
- patches.py     what a diff says of a host or link: only the fields that changed
"""
