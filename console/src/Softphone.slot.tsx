/**
 * Where the browser softphone ("Talk to your agent") is rendered in the layout. Replace this placeholder with the
 * softphone component (console/src/softphone/); App.tsx renders <SoftphoneSlot/> in the side panel.
 */
export function SoftphoneSlot() {
  return null;
}
