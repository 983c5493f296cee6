"""Characters that change what a reader sees without showing themselves.

Bidi embeddings, overrides, isolates and marks reorder the text around them: a finding could read
`\\\\fs01\\ASRImport` on screen while naming another path. Text from AD or a host is shown in the
terminal, HTML and Markdown, so each of them replaces these, from this one list.
"""

BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"  # the inside of a regex character class
