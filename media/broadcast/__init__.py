"""The broadcast engine: one encode of the program, copied to every destination and the recorder.

No Django ORM here: the Django side (apps/streams/broadcast.py) loads rows,
decrypts keys and hands plain values in; health and results come back through
callbacks.
"""
