"""The supervisors' live wallboard: figures, agents by status, live calls, and actions on them.

A change is rendered once, only what it touched (`rendering.render_wallboard_update`), and
pushed to every open wallboard over the `supervisors` group, and not rendered at all while no
wallboard is open (`watchers`); the figures are rendered at most once a second per process
(`ticker`). See docs/wallboard.md.
"""
