"""Presentation only: maps (Folium), tables, HTML and Excel reports."""
