"""pesforge.nn"""
