"""pesforge.data"""
