"""pesforge.interfaces"""
