"""Evaluation: each served model measured through the serving code, writing its model card's card.json.

It sits above serving (service), export and training (models): `python -m evaluation` (`make eval`) runs
every task's evaluation module, as the task registry (service/tasks.py) names it.
"""
