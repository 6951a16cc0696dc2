"""The supervisors' live wallboard: figures, agents by status, live calls, and actions on them.

Everything here is computed once per change (`rendering.render_wallboard_update`) and pushed
to every open wallboard over the `supervisors` group; see docs/wallboard.md.
"""
