"""The three kinds of property the checker knows (Stateright's always/sometimes/eventually).

A model's properties carry one of these as their `kind`; the checker decides by it what a
verdict means: an `always` property is an invariant checked on every reachable state, a
`sometimes` one a reachability guard (some reachable state satisfies it), an `eventually`
one a liveness goal checked on the explored graph under weak fairness.
"""

ALWAYS = "always"
SOMETIMES = "sometimes"
EVENTUALLY = "eventually"
