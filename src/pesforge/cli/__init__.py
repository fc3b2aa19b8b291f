"""pesforge.cli"""
