/** Where the browser softphone ("Talk to your agent") is rendered in the layout: App.tsx puts it in the side panel. */
export { Softphone as SoftphoneSlot } from './softphone/Softphone.tsx';
