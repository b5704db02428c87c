"""Running Materializations: starting (plan or resume), intake (pod states and step
events), the controller that advances the plan, and below it launching pods, status
writing and the janitor. Collaborators get `Ports` and the `RunTable`, not each other.
"""
