"""The Teams adapter: the activity handler, the Adaptive Card renderer and the messenger.

All of botbuilder stays in this package, so the Teams SDK can be swapped later.
"""
